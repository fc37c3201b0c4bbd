// A holder that dies after the provider answered: its lease is taken over when it expires, and its late write is fenced out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../../shared/errors/broker-error.js';
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

async function auditOf(connectionId: string) {
  const snapshot = await project.firestore.collection(collectionNames.auditLog).where('connectionId', '==', connectionId).get();
  return snapshot.docs.map((doc) => doc.data() as { action: string; outcome: string; reason: string | null });
}

describe('a refresh holder killed after the provider answered', () => {
  it('with a provider that invalidates rotated tokens: the taker-over finds a dead grant, the connection moves to needs_reauth with an event, the late write is rejected', async () => {
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
    expect(sandbox.calls('zoom', 'refresh')).toBe(1); // the provider answered (and rotated) for the dying holder

    await waitForLeaseExpiry(connectionId);
    await expect(next.read(request)).rejects.toMatchObject({ code: 'needs_reauth', details: { action: 'reconnect', connectionId } });
    expect(sandbox.calls('zoom', 'refresh')).toBe(2);

    // The dead holder wakes up and tries to store what it got: the fence refuses it.
    dying.wake();
    const outcome = await stalledOutcome;
    expect(outcome.ok).toBe(false);
    expect(isBrokerError(outcome.ok ? undefined : outcome.error, 'needs_reauth')).toBe(true);
    expect(logEvents(logLines, 'refresh.fenced_out')).toEqual([
      expect.objectContaining({ connectionId, leaseVersion: attempt.leaseVersion, errorCode: 'lease_held' }),
    ]);

    const stored = await readStoredConnection(project.firestore, vaults.vault, connectionId);
    expect(stored.connection.document.status).toBe('needs_reauth');
    expect(stored.connection.document.lease).toMatchObject({ holder: null, version: attempt.leaseVersion + 1 });
    // Neither refresh result was stored: the late one was fenced out, the second never happened.
    expect(stored.credentials.accessToken).toBe(grant.accessToken);
    expect(await eventsOf(connectionId)).toEqual([expect.objectContaining({ type: 'connection.needs_reauth', toStatus: 'needs_reauth', reason: 'invalid_grant' })]);
    expect(await auditOf(connectionId)).toEqual([expect.objectContaining({ action: 'connection.needs_reauth', outcome: 'failure' })]);

    // Never silently broken: every later read says what to do, without calling the provider again.
    await expect(dying.instance.read(request)).rejects.toMatchObject({ code: 'needs_reauth' });
    expect(sandbox.calls('zoom', 'refresh')).toBe(2);
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
        { holder: attempt.holder, version: attempt.leaseVersion, expectedUpdatedAtMs: stored.connection.document.updatedAtMs },
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
});
