// A holder that dies or freezes after the provider answered: its lease is taken over when it expires; its late reply is kept only when nothing newer was stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionNames } from '../../../../shared/store/collections.js';
import { storeRefreshedCredentials } from '../../../../shared/store/connection-refresh-writes.js';
import { systemClock } from '../../../../shared/time/clock.js';
import { cryptoIdSource } from '../../../../shared/time/ids.js';
import type { RefreshAttempt } from '../../../../shared/usecases/refresh/refresh-engine.js';
import { connectAtSandbox, readStoredConnection, registerSandboxClient, setStoredExpiry } from '../../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';
import { startVaultHarness, type VaultHarness } from '../../../support/vault-harness.js';
import { type ProviderSandbox, startProviderSandbox } from '../../../../local/provider-sandbox/provider-sandbox.js';
import { type EngineInstance, logEvents, startInstance } from './engine-harness.js';

const project = useFirestoreTestProject('refresh-holder-death');
const LEASE_TTL_MS = 1_500;

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

/** An instance whose refresh stalls after the provider's reply until released: a holder that "died" mid-write. */
function stallingInstance(clients: Record<string, { clientId: string; clientSecret: string }>) {
  let reachedResolve: (attempt: RefreshAttempt) => void = () => undefined;
  const reached = new Promise<RefreshAttempt>((resolve) => {
    reachedResolve = resolve;
  });
  let wake: () => void = () => undefined;
  const stalled = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const instance = startInstance({
    config: project.config,
    vaults,
    sandbox,
    clients,
    logLines,
    refresh: { leaseTtlMs: LEASE_TTL_MS },
    engine: {
      hooks: {
        afterProviderReply: async (attempt) => {
          reachedResolve(attempt);
          await stalled;
        },
      },
    },
  });
  instances.push(instance);
  return { instance, reached, wake };
}

function healthyInstance(clients: Record<string, { clientId: string; clientSecret: string }>) {
  const instance = startInstance({ config: project.config, vaults, sandbox, clients, logLines, refresh: { leaseTtlMs: LEASE_TTL_MS } });
  instances.push(instance);
  return instance;
}

async function waitForLeaseExpiry(connectionId: string): Promise<void> {
  for (;;) {
    const { connection } = await readStoredConnection(project.firestore, vaults.vault, connectionId);
    const lease = connection.document.lease;
    if (lease !== undefined && lease.expiresAtMs < Date.now()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function eventsOf(connectionId: string) {
  const snapshot = await project.firestore.collection(collectionNames.connectionEvents).where('connectionId', '==', connectionId).get();
  return snapshot.docs.map((doc) => doc.data() as { type: string; toStatus: string; reason: string | null });
}

describe('a refresh holder killed after the provider answered', () => {
  it('with a provider that invalidates rotated tokens: the taker-over finds a dead grant (needs_reauth saying why, with its event); the frozen holder\'s late reply is then kept and saves the grant', async () => {
    const { client } = registerSandboxClient(sandbox, 'zoom');
    sandbox.configure('zoom', { rotateRefreshTokens: true, invalidateRotatedRefreshTokens: true, tokenLifetimeSeconds: 3600 });
    const { connectionId, grant } = await connectAtSandbox({ firestore: project.firestore, vault: vaults.vault, sandbox, client, provider: 'zoom', tenantId: 'acme', userId: 'dying-1' });
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
    const clients = { zoom: client };
    const dying = stallingInstance(clients);
    const next = healthyInstance(clients);
    sandbox.resetCalls();

    const request = { tenantId: 'acme', userId: 'dying-1', provider: 'zoom' };
    const stalledRead = dying.instance.read(request);
    const stalledOutcome = stalledRead.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    const attempt = await dying.reached;
    expect(sandbox.calls('zoom', 'refresh')).toBe(1); // the provider answered (and rotated) for the frozen holder

    // While the holder is as good as dead: nothing can save the grant, and the reason says exactly why.
    await waitForLeaseExpiry(connectionId);
    await expect(next.read(request)).rejects.toMatchObject({
      code: 'needs_reauth',
      details: { action: 'reconnect', connectionId, reason: 'invalid_grant:after_lost_refresh_reply' },
    });
    expect(sandbox.calls('zoom', 'refresh')).toBe(2);
    expect(await eventsOf(connectionId)).toEqual([
      expect.objectContaining({ type: 'connection.needs_reauth', toStatus: 'needs_reauth', reason: 'invalid_grant:after_lost_refresh_reply' }),
    ]);
    const dead = await readStoredConnection(project.firestore, vaults.vault, connectionId);
    expect(dead.connection.document.health).toMatchObject({ status: 'unhealthy', errorCode: 'invalid_grant:after_lost_refresh_reply' });

    // The holder wakes with the only copy of the rotated token: nothing newer was stored, so its late reply is kept.
    dying.wake();
    const outcome = await stalledOutcome;
    expect(outcome.ok).toBe(true);
    expect(logEvents(logLines, 'refresh.late_reply_kept')).toEqual([expect.objectContaining({ connectionId, leaseVersion: attempt.leaseVersion })]);
    const stored = await readStoredConnection(project.firestore, vaults.vault, connectionId);
    expect(stored.connection.document.status).toBe('active');
    expect(stored.credentials.accessToken).toBe(outcome.ok ? outcome.value.accessToken : '');
    expect(stored.credentials.accessToken).not.toBe(grant.accessToken);
    expect(stored.connection.document.lease).toMatchObject({ holder: null, version: attempt.leaseVersion + 1 });
    expect(await eventsOf(connectionId)).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'connection.reconnected', toStatus: 'active', reason: 'late_refresh_reply' })]),
    );

    // The grant is alive: the next refresh uses the kept token and the provider accepts it.
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
    const after = await next.read(request);
    expect(after.accessToken).not.toBe(stored.credentials.accessToken);
    expect(sandbox.calls('zoom', 'refresh')).toBe(3);
  });

  it('with a provider whose old refresh token survives rotation: the taker-over refreshes, everyone gets its token, the late write is rejected', async () => {
    const { client } = registerSandboxClient(sandbox, 'microsoft');
    sandbox.configure('microsoft', { rotateRefreshTokens: true, invalidateRotatedRefreshTokens: false, tokenLifetimeSeconds: 3600 });
    const { connectionId } = await connectAtSandbox({ firestore: project.firestore, vault: vaults.vault, sandbox, client, provider: 'microsoft', tenantId: 'acme', userId: 'dying-2', scopes: ['Mail.Read'] });
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
    const clients = { microsoft: client };
    const dying = stallingInstance(clients);
    const next = healthyInstance(clients);

    const request = { tenantId: 'acme', userId: 'dying-2', provider: 'microsoft' };
    const stalledRead = dying.instance.read(request);
    const attempt = await dying.reached;
    await waitForLeaseExpiry(connectionId);
    const recovered = await next.read(request);

    dying.wake();
    const late = await stalledRead;
    // The late holder's own token was dropped: it serves what the taker-over stored.
    expect(late.accessToken).toBe(recovered.accessToken);
    const stored = await readStoredConnection(project.firestore, vaults.vault, connectionId);
    expect(stored.credentials.accessToken).toBe(recovered.accessToken);
    expect(stored.connection.document.status).toBe('active');
    expect(stored.connection.document.lease).toMatchObject({ holder: null, version: attempt.leaseVersion + 1 });

    // The fence itself, called directly with the dead holder's lease: refused.
    await expect(
      storeRefreshedCredentials(
        project.firestore,
        connectionId,
        { holder: attempt.holder, version: attempt.leaseVersion, expectedUpdatedAtMs: stored.connection.document.updatedAtMs, credentialsSeal: null },
        {
          credentials: stored.connection.document.credentials!,
          expiresAtMs: null,
          nextRefreshAtMs: null,
          scopes: [],
          metadata: {},
        },
        { type: 'system', id: null },
        { clock: systemClock, ids: cryptoIdSource },
      ),
    ).rejects.toMatchObject({ code: 'lease_held' });
  });

  it('with a provider that documents a reuse grace (Atlassian\'s leeway): a killed holder\'s rotation is recovered by the taker-over, whose newer reply then wins', async () => {
    const { client } = registerSandboxClient(sandbox, 'atlassian');
    sandbox.configure('atlassian', { rotateRefreshTokens: true, invalidateRotatedRefreshTokens: true, refreshTokenGraceSeconds: 600, revokeGrantOnReuse: true, tokenLifetimeSeconds: 3600 });
    const { connectionId } = await connectAtSandbox({ firestore: project.firestore, vault: vaults.vault, sandbox, client, provider: 'atlassian', tenantId: 'acme', userId: 'dying-3' });
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
    const clients = { atlassian: client };
    const dying = stallingInstance(clients);
    const next = healthyInstance(clients);
    sandbox.resetCalls();

    const request = { tenantId: 'acme', userId: 'dying-3', provider: 'atlassian' };
    const stalledRead = dying.instance.read(request).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    await dying.reached;
    await waitForLeaseExpiry(connectionId);
    const recovered = await next.read(request);
    expect(sandbox.calls('atlassian', 'refresh')).toBe(2);
    const stored = await readStoredConnection(project.firestore, vaults.vault, connectionId);
    expect(stored.connection.document.status).toBe('active');
    expect(stored.credentials.accessToken).toBe(recovered.accessToken);

    // The dead holder's reply, were it ever to arrive, is older than what is stored: refused, the newer one stands.
    dying.wake();
    const late = await stalledRead;
    expect(late.ok && late.value.accessToken).toBe(recovered.accessToken);
    expect((await readStoredConnection(project.firestore, vaults.vault, connectionId)).credentials.accessToken).toBe(recovered.accessToken);
    expect(await eventsOf(connectionId)).toEqual([]);
  });
});

describe('the one retry a documented reuse grace allows', () => {
  async function rotatedOnce(provider: 'atlassian' | 'zoom', userId: string) {
    const { client } = registerSandboxClient(sandbox, provider);
    sandbox.configure(provider, { rotateRefreshTokens: true, invalidateRotatedRefreshTokens: true, refreshTokenGraceSeconds: 600, tokenLifetimeSeconds: 3600 });
    const { connectionId } = await connectAtSandbox({ firestore: project.firestore, vault: vaults.vault, sandbox, client, provider, tenantId: 'acme', userId });
    const instance = healthyInstance({ [provider]: client });
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
    await instance.read({ tenantId: 'acme', userId, provider });
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
    sandbox.resetCalls();
    // The stored (newest) token is refused once: a lost reply's successor the provider never saw, say.
    sandbox.failNext(provider, 'refresh', { kind: 'invalid_grant' });
    return { connectionId, instance, request: { tenantId: 'acme', userId, provider } };
  }

  it('Atlassian: the refused refresh is retried once with the previous token, inside its 10-minute leeway, and the grant lives', async () => {
    const { connectionId, instance, request } = await rotatedOnce('atlassian', 'grace-1');
    const token = await instance.read(request);
    expect(sandbox.calls('atlassian', 'refresh')).toBe(2);
    expect(logEvents(logLines, 'refresh.grace_retry')).toEqual([expect.objectContaining({ connectionId, provider: 'atlassian' })]);
    const stored = await readStoredConnection(project.firestore, vaults.vault, connectionId);
    expect(stored.connection.document.status).toBe('active');
    expect(stored.credentials.accessToken).toBe(token.accessToken);
  });

  it('a provider with no documented grace gets no retry: needs_reauth with the provider\'s reason', async () => {
    const { connectionId, instance, request } = await rotatedOnce('zoom', 'grace-2');
    await expect(instance.read(request)).rejects.toMatchObject({ code: 'needs_reauth', details: { reason: 'invalid_grant' } });
    expect(sandbox.calls('zoom', 'refresh')).toBe(1);
    expect((await eventsOf(connectionId)).map((event) => event.type)).toEqual(['connection.needs_reauth']);
  });
});
