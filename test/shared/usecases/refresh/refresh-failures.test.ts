// The failure taxonomy over time: backoff and cooldown, `error` after repeated failures, recovery, and replies without a refresh token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionNames } from '../../../../shared/store/collections.js';
import { ManualClock } from '../../../../shared/time/clock.js';
import { connectAtSandbox, readStoredConnection, registerSandboxClient, setStoredExpiry } from '../../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';
import { startVaultHarness, type VaultHarness } from '../../../support/vault-harness.js';
import { type ProviderSandbox, startProviderSandbox } from '../../../../local/provider-sandbox/provider-sandbox.js';
import { type EngineInstance, startInstance } from './engine-harness.js';

const project = useFirestoreTestProject('refresh-failures');
let sandbox: ProviderSandbox;
let vaults: VaultHarness;
const instances: EngineInstance[] = [];

beforeAll(async () => {
  [sandbox, vaults] = await Promise.all([startProviderSandbox(), startVaultHarness()]);
});

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.close()));
  await Promise.all([sandbox?.close(), vaults?.close()]);
});

describe('refresh failures over time', () => {
  it('backs off with Retry-After, cools down without calling the provider, turns to error after N failures, and recovers with an event', async () => {
    const { client } = registerSandboxClient(sandbox, 'zoom');
    sandbox.configure('zoom', { rotateRefreshTokens: true, invalidateRotatedRefreshTokens: true, tokenLifetimeSeconds: 3600 });
    const { connectionId } = await connectAtSandbox({ firestore: project.firestore, vault: vaults.vault, sandbox, client, provider: 'zoom', tenantId: 'acme', userId: 'u-flaky' });
    const clock = new ManualClock(Date.now());
    const instance = startInstance({
      config: project.config,
      vaults,
      sandbox,
      clients: { zoom: client },
      logLines: [],
      clock,
      refresh: { backoffBaseMs: 10_000, backoffMaxMs: 60_000, failuresBeforeError: 3 },
      engine: { random: () => 0 },
    });
    instances.push(instance);
    await setStoredExpiry(project.firestore, connectionId, clock.nowMs() - 1000);
    sandbox.injectFault('zoom', 'refresh', { kind: 'status', status: 503, retryAfter: '20' });
    sandbox.resetCalls();
    const request = { tenantId: 'acme', userId: 'u-flaky', provider: 'zoom' };

    // 1st failure: Retry-After (20 s) beats the jittered 5 s backoff.
    await expect(instance.read(request)).rejects.toMatchObject({ code: 'provider_unavailable', retryAfterSeconds: 20 });
    let stored = await readStoredConnection(project.firestore, vaults.vault, connectionId);
    expect(stored.connection.document).toMatchObject({ status: 'active', nextRefreshAtMs: clock.nowMs() + 20_000, refresh: { consecutiveFailures: 1, lastErrorCode: 'provider_unavailable' } });
    // Cooldown: no provider call before nextRefreshAtMs, however often callers ask.
    clock.advance(19_000);
    await expect(instance.read(request)).rejects.toMatchObject({ code: 'provider_unavailable', retryAfterSeconds: 1 });
    expect(sandbox.calls('zoom', 'refresh')).toBe(1);

    // 2nd and 3rd failures: backoff doubles (Retry-After still the floor); the 3rd moves to error with an event.
    sandbox.injectFault('zoom', 'refresh', { kind: 'status', status: 502 });
    clock.advance(1_000);
    await expect(instance.read(request)).rejects.toMatchObject({ code: 'provider_unavailable', retryAfterSeconds: 10 });
    clock.advance(10_000);
    await expect(instance.read(request)).rejects.toMatchObject({ code: 'provider_unavailable', retryAfterSeconds: 20 });
    stored = await readStoredConnection(project.firestore, vaults.vault, connectionId);
    expect(stored.connection.document).toMatchObject({ status: 'error', refresh: { consecutiveFailures: 3 } });
    expect(sandbox.calls('zoom', 'refresh')).toBe(3);

    // The provider is back: the next read after the cooldown refreshes, and the recovery is announced.
    sandbox.injectFault('zoom', 'refresh', undefined);
    clock.advance(20_000);
    const token = await instance.read(request);
    stored = await readStoredConnection(project.firestore, vaults.vault, connectionId);
    expect(stored.credentials.accessToken).toBe(token.accessToken);
    expect(stored.connection.document).toMatchObject({ status: 'active', statusReason: null, refresh: { consecutiveFailures: 0, lastErrorCode: null } });
    const events = await project.firestore.collection(collectionNames.connectionEvents).where('connectionId', '==', connectionId).get();
    expect(events.docs.map((doc) => doc.get('type')).sort()).toEqual(['connection.refresh_failed', 'connection.refreshed_after_failure']);
  });

  it('serves the still-valid token while the provider is down, instead of failing the caller', async () => {
    const { client } = registerSandboxClient(sandbox, 'zoom');
    const { connectionId, grant } = await connectAtSandbox({ firestore: project.firestore, vault: vaults.vault, sandbox, client, provider: 'zoom', tenantId: 'acme', userId: 'u-degraded' });
    const instance = startInstance({ config: project.config, vaults, sandbox, clients: { zoom: client }, logLines: [] });
    instances.push(instance);
    await setStoredExpiry(project.firestore, connectionId, Date.now() + 30_000);
    sandbox.failNext('zoom', 'refresh', { kind: 'status', status: 503 });
    sandbox.resetCalls();
    const request = { tenantId: 'acme', userId: 'u-degraded', provider: 'zoom' };
    expect((await instance.read(request)).accessToken).toBe(grant.accessToken);
    expect((await instance.read(request)).accessToken).toBe(grant.accessToken);
    expect(sandbox.calls('zoom', 'refresh')).toBe(1);
  });

  it('keeps the stored refresh token when the provider replies without one', async () => {
    const { client } = registerSandboxClient(sandbox, 'asana');
    sandbox.configure('asana', { rotateRefreshTokens: false, tokenLifetimeSeconds: 3600 });
    const { connectionId, grant } = await connectAtSandbox({ firestore: project.firestore, vault: vaults.vault, sandbox, client, provider: 'asana', tenantId: 'acme', userId: 'u-static' });
    expect(grant.refreshToken).toBeDefined();
    const instance = startInstance({ config: project.config, vaults, sandbox, clients: { asana: client }, logLines: [] });
    instances.push(instance);
    for (let round = 0; round < 2; round += 1) {
      await setStoredExpiry(project.firestore, connectionId, Date.now() - 1000);
      const token = await instance.read({ tenantId: 'acme', userId: 'u-static', provider: 'asana' });
      const stored = await readStoredConnection(project.firestore, vaults.vault, connectionId);
      expect(stored.credentials.accessToken).toBe(token.accessToken);
      expect(stored.credentials.refreshToken).toBe(grant.refreshToken);
    }
  });
});
