// A provider that stalls on a refresh past the caller's deadline, with rotation and reuse detection: the caller gets 503,
// the holder keeps its lease alive and stores the reply when it lands, and no grant is ever lost — 20 rounds in a row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAtSandbox, registerSandboxClient, setStoredExpiry } from '../../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';
import { startVaultHarness, type VaultHarness } from '../../../support/vault-harness.js';
import { type ProviderSandbox, startProviderSandbox } from '../../../../local/provider-sandbox/provider-sandbox.js';
import { type EngineInstance, logEvents, readAsCaller, stalledRefreshStored, startInstance } from './engine-harness.js';

const project = useFirestoreTestProject('refresh-slow-provider');
const ROUNDS = 20;
// The stall outlasts the lease's unextended life by far: only the holder's extensions keep others off the provider.
// The second reader comes 1.2 lease lives after the first gave up (PAUSE_MS), well past the unextended lease's end; both
// readers' waits end a second before the reply lands.
const LEASE_TTL_MS = 3_000;
const PAUSE_MS = LEASE_TTL_MS * 1.2;
const CALLER_WAIT_MS = 250;
const STALL_MS = 5_100;

let sandbox: ProviderSandbox;
let vaults: VaultHarness;
const instances: EngineInstance[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  [sandbox, vaults] = await Promise.all([startProviderSandbox(), startVaultHarness()]);
});

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.close()));
  await Promise.all([sandbox?.close(), vaults?.close()]);
});

describe('a refresh reply that arrives after the caller stopped waiting', () => {
  it(`is stored when it lands and the grant lives on, ${ROUNDS} rounds of a stalled, rotating, reuse-detecting provider`, { timeout: 400_000 }, async () => {
    const { client } = registerSandboxClient(sandbox, 'zoom');
    // Reuse detection: one refresh with a rotated-out token would revoke the whole grant.
    sandbox.configure('zoom', { rotateRefreshTokens: true, invalidateRotatedRefreshTokens: true, revokeGrantOnReuse: true, refreshTokenGraceSeconds: 0, tokenLifetimeSeconds: 3600 });
    const { connectionId, grant } = await connectAtSandbox({ firestore: project.firestore, vault: vaults.vault, sandbox, client, provider: 'zoom', tenantId: 'acme', userId: 'slow-1' });
    const settings = { config: project.config, vaults, sandbox, clients: { zoom: client }, logLines, refresh: { leaseTtlMs: LEASE_TTL_MS, callerWaitMs: CALLER_WAIT_MS, replyDeadlineMs: 20_000 } };
    const [first, second] = [startInstance(settings), startInstance(settings)];
    instances.push(first, second);
    const request = { tenantId: 'acme', userId: 'slow-1', provider: 'zoom' };

    let lost = 0;
    const stall = { firestore: project.firestore, vault: vaults.vault, connectionId, request, first, second, pauseMs: PAUSE_MS, timeoutMs: STALL_MS * 4 };
    let previousRefreshToken = grant.refreshToken;
    for (let round = 1; round <= ROUNDS; round += 1) {
      await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
      sandbox.resetCalls();
      sandbox.failNext('zoom', 'refresh', { kind: 'stall', ms: STALL_MS });

      // The caller gets 503 at its own deadline, the other instance too; the reply lands and the holder stores it.
      const stored = await stalledRefreshStored({ ...stall, previousRefreshToken, label: `round ${round}` });
      const next = await readAsCaller(second, request);
      expect(next.accessToken, `round ${round}: the next read serves the stored reply`).toBe(stored.credentials.accessToken);
      expect(sandbox.calls('zoom', 'refresh'), `round ${round}: one provider call`).toBe(1);
      if (stored.connection.document.status !== 'active' || stored.credentials.refreshToken === previousRefreshToken) lost += 1;
      previousRefreshToken = stored.credentials.refreshToken;
    }
    expect(lost).toBe(0);

    // Alive at the provider too: a prompt refresh with the last stored token is accepted.
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
    sandbox.resetCalls();
    const final = await readAsCaller(first, request);
    expect(sandbox.calls('zoom', 'refresh')).toBe(1);
    expect(sandbox.issuedSecrets()).toContain(final.accessToken);
    expect(logEvents(logLines, 'refresh.failed')).toEqual([]);
    expect(logEvents(logLines, 'refresh.lease_lost')).toEqual([]);
    expect(logEvents(logLines, 'refresh.succeeded')).toHaveLength(ROUNDS + 1);
  });
});
