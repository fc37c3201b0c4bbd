// A provider that stalls on a refresh past the caller's deadline, with rotation and reuse detection: the caller gets 503,
// the holder keeps its lease alive and stores the reply when it lands, and no grant is ever lost — 20 rounds, 5 in a
// row on each of 4 grants.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAtSandbox, registerSandboxClient, setStoredExpiry } from '../../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';
import { startVaultHarness, type VaultHarness } from '../../../support/vault-harness.js';
import { type ProviderSandbox, startProviderSandbox } from '../../../../local/provider-sandbox/provider-sandbox.js';
import { type EngineInstance, logEvents, readAsCaller, stalledRefreshStored, startInstance } from './engine-harness.js';

const project = useFirestoreTestProject('refresh-slow-provider');
const ROUNDS = 20;
const GRANTS = 4;
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
    const settings = { config: project.config, vaults, sandbox, clients: { zoom: client }, logLines, refresh: { leaseTtlMs: LEASE_TTL_MS, callerWaitMs: CALLER_WAIT_MS, replyDeadlineMs: 20_000 } };
    const [first, second] = [startInstance(settings), startInstance(settings)];
    instances.push(first, second);
    sandbox.resetCalls();

    // Each grant goes through its rounds in turn (each round rotates the token the next one must use); the grants run
    // side by side on the same two instances, so the rounds take a quarter of the time they would one after another.
    const lostByGrant = await Promise.all(
      Array.from({ length: GRANTS }, async (_, index) => {
        const userId = `slow-${index + 1}`;
        const { connectionId, grant } = await connectAtSandbox({ firestore: project.firestore, vault: vaults.vault, sandbox, client, provider: 'zoom', tenantId: 'acme', userId });
        const request = { tenantId: 'acme', userId, provider: 'zoom' };
        const stall = { firestore: project.firestore, vault: vaults.vault, connectionId, request, first, second, pauseMs: PAUSE_MS, timeoutMs: STALL_MS * 4 };
        let lost = 0;
        let previousRefreshToken = grant.refreshToken;
        for (let round = 1; round <= ROUNDS / GRANTS; round += 1) {
          const label = `${userId}, round ${round}`;
          await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
          // The sandbox's armed faults are one queue per endpoint: each round arms one stall before its own refresh, so
          // every round's refresh finds one armed, whichever grant's round took the one before.
          sandbox.failNext('zoom', 'refresh', { kind: 'stall', ms: STALL_MS });

          // The caller gets 503 at its own deadline, the other instance too; the reply lands and the holder stores it.
          const stored = await stalledRefreshStored({ ...stall, previousRefreshToken, label });
          const next = await readAsCaller(second, request);
          expect(next.accessToken, `${label}: the next read serves the stored reply`).toBe(stored.credentials.accessToken);
          if (stored.connection.document.status !== 'active' || stored.credentials.refreshToken === previousRefreshToken) lost += 1;
          previousRefreshToken = stored.credentials.refreshToken;
        }
        return { connectionId, request, lost };
      }),
    );
    expect(lostByGrant.map((each) => each.lost)).toEqual(Array.from({ length: GRANTS }, () => 0));
    // One provider call per round: a round that called twice would show here (one that called none would have lost).
    expect(sandbox.calls('zoom', 'refresh')).toBe(ROUNDS);

    // Alive at the provider too: a prompt refresh with each grant's last stored token is accepted.
    sandbox.resetCalls();
    for (const { connectionId, request } of lostByGrant) {
      await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
      const final = await readAsCaller(first, request);
      expect(sandbox.issuedSecrets()).toContain(final.accessToken);
    }
    expect(sandbox.calls('zoom', 'refresh')).toBe(GRANTS);
    expect(logEvents(logLines, 'refresh.failed')).toEqual([]);
    expect(logEvents(logLines, 'refresh.lease_lost')).toEqual([]);
    expect(logEvents(logLines, 'refresh.succeeded')).toHaveLength(ROUNDS + GRANTS);
  });
});
