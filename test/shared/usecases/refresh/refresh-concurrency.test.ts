// Single flight across instances: 50 concurrent reads of an expired, rotating grant over 5 engines make one refresh call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAtSandbox, readStoredConnection, registerSandboxClient, setStoredExpiry } from '../../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';
import { startVaultHarness, type VaultHarness } from '../../../support/vault-harness.js';
import { type ProviderSandbox, startProviderSandbox } from '../../../../local/provider-sandbox/provider-sandbox.js';
import { type EngineInstance, logEvents, startInstance } from './engine-harness.js';

const project = useFirestoreTestProject('refresh-concurrency');
const ROUNDS = 10;
const READERS = 50;
const INSTANCES = 5;

let sandbox: ProviderSandbox;
let vaults: VaultHarness;
let instances: EngineInstance[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  [sandbox, vaults] = await Promise.all([startProviderSandbox(), startVaultHarness()]);
});

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.close()));
  await Promise.all([sandbox?.close(), vaults?.close()]);
});

describe('refresh single flight across instances', () => {
  it(`${READERS} concurrent reads over ${INSTANCES} instances make exactly one refresh call, ${ROUNDS} rounds in a row`, { timeout: 180_000 }, async () => {
    const { client } = registerSandboxClient(sandbox, 'zoom');
    // Rotation that kills the old refresh token: a second refresh with it would be an invalid_grant.
    sandbox.configure('zoom', { rotateRefreshTokens: true, invalidateRotatedRefreshTokens: true, tokenLifetimeSeconds: 3600 });
    const { connectionId, grant } = await connectAtSandbox({
      firestore: project.firestore,
      vault: vaults.vault,
      sandbox,
      client,
      provider: 'zoom',
      tenantId: 'acme',
      userId: 'user-1',
    });
    instances = Array.from({ length: INSTANCES }, () =>
      startInstance({ config: project.config, vaults, sandbox, clients: { zoom: client }, logLines }),
    );

    let previousAccessToken = grant.accessToken;
    let previousRefreshToken = grant.refreshToken;
    for (let round = 1; round <= ROUNDS; round += 1) {
      await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
      sandbox.resetCalls();
      const results = await Promise.allSettled(
        Array.from({ length: READERS }, (_, index) =>
          (instances[index % INSTANCES] as EngineInstance).read({ tenantId: 'acme', userId: 'user-1', provider: 'zoom' }),
        ),
      );
      const failures = results.filter((result) => result.status === 'rejected');
      expect(failures, `round ${round}`).toEqual([]);
      const tokens = new Set(results.map((result) => (result.status === 'fulfilled' ? result.value.accessToken : '')));
      expect(tokens.size, `round ${round}: one token for everyone`).toBe(1);
      const [token] = [...tokens];
      expect(token).not.toBe(previousAccessToken);
      expect(sandbox.issuedSecrets()).toContain(token);
      expect(sandbox.calls('zoom', 'refresh'), `round ${round}: refresh calls`).toBe(1);

      const stored = await readStoredConnection(project.firestore, vaults.vault, connectionId);
      expect(stored.credentials.accessToken).toBe(token);
      // The rotated refresh token is what is stored now; the next round refreshes with it.
      expect(stored.credentials.refreshToken).toBeDefined();
      expect(stored.credentials.refreshToken).not.toBe(previousRefreshToken);
      expect(stored.connection.document.status).toBe('active');
      expect(stored.connection.document.lease?.holder).toBeNull();
      previousAccessToken = token as string;
      previousRefreshToken = stored.credentials.refreshToken;
    }
    expect(logEvents(logLines, 'refresh.failed')).toEqual([]);
    expect(logEvents(logLines, 'refresh.succeeded')).toHaveLength(ROUNDS);
  });
});
