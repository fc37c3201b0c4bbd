// Forwarded connect links (issue 14, finding 3): with confirmation required, a grant becomes a connection only when the
// product backend confirms the user the flow was started for; another user, or silence past the window, discards the
// grant and revokes it at the provider. End to end over HTTP against the production-shaped local stack.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createIdTokenSigner } from '../../local/id-token-issuer.js';
import { type LocalStack, localIdentities, startLocalStack } from '../../local/local-stack.js';
import { loadConfig } from '../../shared/config/config.js';
import { SMART_BASE } from '../../local/provider-sandbox/profiles.js';
import { builtInProviders } from '../../shared/providers/registry.js';
import { collectionNames } from '../../shared/store/collections.js';
import { createFirestore } from '../../shared/store/firestore-client.js';
import { testProjectId } from '../support/firestore-test-project.js';
import { authorize, type AuthorizeBody, type ConnectDriver, connectThroughBrowser } from './connect-flow-support.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Short, so the expiry case waits seconds rather than the default five minutes; long enough for a warm confirmation. */
const WINDOW_SECONDS = 20;
const OTHER_CALLER = 'some-other-backend@oauth-broker-local.iam.gserviceaccount.com';
/** A second tenant of the same deployment, one CONNECT_CONFIRMATION_TENANTS does not name. */
const DIRECT_TENANT = 'direct-tenant';

interface RunningStack {
  readonly stack: LocalStack;
  readonly driver: ConnectDriver;
  readonly firestore: Firestore;
  readonly tenantId: string;
  call(functionName: 'connections' | 'token', path: string, body?: unknown, callerEmail?: string): Promise<{ status: number; json: Record<string, unknown> }>;
  /** The same stack, driven on behalf of another tenant. */
  forTenant(tenantId: string): RunningStack;
  stop(): Promise<void>;
}

async function runStack(label: string, env: Record<string, string>): Promise<RunningStack> {
  const stateDir = await mkdtemp(join(tmpdir(), 'broker-confirm-'));
  const stack = await startLocalStack({
    repoRoot,
    port: 0,
    stateDir,
    projectId: testProjectId(label),
    env: {
      FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'),
      PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'),
      // The sweeps run when a test says so (stack.sweeps.runNow()), never on their own in between.
      SWEEP_INTERVAL_SECONDS: '3600',
      ...env,
    },
  });
  const signer = await createIdTokenSigner({ dataDir: join(stateDir, 'id-token-issuer') });
  const origin = stack.description.functionsOrigin;
  const mint = (email: string, functionName: string) => signer.mint({ email, audience: `${origin}/${functionName}` });
  const firestore = createFirestore(loadConfig(stack.functionEnv));
  const running: RunningStack = {
    stack,
    firestore,
    tenantId: stack.description.demoTenant,
    driver: {
      origin,
      returnUrl: stack.description.returnUrl,
      callbackUrl: stack.description.callbackUrl,
      sandbox: stack.sandbox,
      idToken: (email = stack.description.demoCaller, functionName = 'authorize') => mint(email, functionName),
    },
    async call(functionName, path, body, callerEmail = stack.description.demoCaller) {
      const response = await fetch(`${origin}/${functionName}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${await mint(callerEmail, functionName)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    },
    forTenant: (tenantId) => ({ ...running, tenantId }),
    async stop() {
      await firestore.terminate();
      await stack.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  return running;
}

// One deployment for both cases: its demo tenant confirms its users, DIRECT_TENANT does not.
let running: RunningStack;
beforeAll(async () => {
  running = await runStack('connect-confirm', {
    CONNECT_CONFIRMATION_WINDOW_SECONDS: String(WINDOW_SECONDS),
    CONNECT_CONFIRMATION_TENANTS: localIdentities.demoTenant,
    CALLER_POLICY: JSON.stringify([
      { serviceAccount: localIdentities.demoCaller, tenants: [localIdentities.demoTenant, DIRECT_TENANT], providers: '*', actions: ['connect', 'manage_connections', 'read_token'] },
    ]),
  });
});
afterAll(async () => {
  await running?.stop();
});

/** The product's user starts a flow; whoever holds the link approves at the sandbox with `account`. */
async function connectAs(running: RunningStack, userId: string, account: string) {
  const body: AuthorizeBody = { tenantId: running.tenantId, userId, provider: 'slack', returnUrl: running.driver.returnUrl };
  const end = await connectThroughBrowser(running.driver, body, { account });
  expect(end.response.status).toBe(303);
  return { end, location: end.location as URL };
}

async function listConnections(running: RunningStack, userId: string): Promise<Record<string, unknown>[]> {
  const { status, json } = await running.call('connections', `/?${new URLSearchParams({ tenantId: running.tenantId, userId })}`);
  expect(status).toBe(200);
  return json.connections as Record<string, unknown>[];
}

async function auditActionsOf(running: RunningStack, userId: string): Promise<string[]> {
  const snapshot = await running.firestore.collection(collectionNames.auditLog).where('userId', '==', userId).get();
  return snapshot.docs.map((doc) => String(doc.get('action'))).sort();
}

async function storedConnectionsOf(running: RunningStack, userId: string): Promise<number> {
  return (await running.firestore.collection(collectionNames.connections).where('userId', '==', userId).get()).size;
}

describe('with confirmation required (a tenant CONNECT_CONFIRMATION_TENANTS names)', () => {
  /** Parked by the first case and left unconfirmed: its window runs out while the other cases run, not in a wait of its own. */
  let unconfirmed: { flowId: string; parkedAtMs: number } | undefined;

  beforeAll(async () => {
    // Cold starts (a function process loading its clients) happen here, not inside a confirmation window.
    await listConnections(running, 'nobody');
    await running.stack.sweeps.runNow();
  });

  const confirm = (flowId: string, userId: string, callerEmail?: string) =>
    running.call('connections', '/confirm', { tenantId: running.tenantId, flowId, userId }, callerEmail);

  it('leaves a grant nobody confirmed parked while its window runs: the refresh sweep does not touch it', async () => {
    const { location } = await connectAs(running, 'carol', 'carolcorp');
    expect(location.searchParams.get('outcome')).toBe('pending_confirmation');
    unconfirmed = { flowId: location.searchParams.get('flow_id') as string, parkedAtMs: Date.now() };

    await running.stack.sweeps.runNow();
    expect(running.stack.sandbox.revokedGrants('slack')).not.toContain('carolcorp');
    const parked = await running.firestore.collection(collectionNames.parkedGrants).where('userId', '==', 'carol').get();
    expect(parked.docs.map((doc) => doc.get('state'))).toEqual(['awaiting']);
  });

  it('stores the connection once the product confirms the user the link was made for, and the token read works', async () => {
    const started = await authorize(running.driver, { tenantId: running.tenantId, userId: 'alice', provider: 'slack' });
    expect(await started.json()).toMatchObject({ userConfirmation: 'required' });

    const { end, location } = await connectAs(running, 'alice', 'alice');
    expect(`${location.origin}${location.pathname}`).toBe(running.driver.returnUrl);
    expect(location.searchParams.get('outcome')).toBe('pending_confirmation');
    expect(location.searchParams.get('connection_id')).toBeNull();
    const flowId = location.searchParams.get('flow_id') as string;
    expect(flowId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Parked, not stored: the product sees nothing yet, and the flow id is not what Firestore keys the grant by.
    expect(await listConnections(running, 'alice')).toEqual([]);
    const parked = await running.firestore.collection(collectionNames.parkedGrants).get();
    expect(parked.docs.map((doc) => doc.id)).not.toContain(flowId);
    expect(JSON.stringify(parked.docs.map((doc) => doc.data()))).not.toContain(flowId);
    expect(end.jar.values()).toEqual([]);

    const { status, json } = await confirm(flowId, 'alice');
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ outcome: 'connected', created: true, connectionId: expect.stringMatching(/^conn_[0-9a-f]{30}$/) });
    const listed = await listConnections(running, 'alice');
    expect(listed.map((connection) => connection.connectionId)).toEqual([json.connectionId]);
    expect(listed[0]).toMatchObject({ provider: 'slack', status: 'active' });

    const token = await running.call('token', '', { tenantId: running.tenantId, userId: 'alice', provider: 'slack' });
    expect(token.status, JSON.stringify(token.json)).toBe(200);
    expect(token.json.accessToken).toEqual(expect.stringMatching(/^xoxe\.xoxb-sbx-/));
    expect(running.stack.sandbox.revokedGrants('slack')).not.toContain('alice');
    expect(await auditActionsOf(running, 'alice')).toEqual(
      expect.arrayContaining(['flow.started', 'flow.awaiting_confirmation', 'flow.confirmed', 'connection.connected']),
    );

    // A second confirmation of the same flow id is refused, and leaves the connection as it was.
    const again = await confirm(flowId, 'alice');
    expect(again).toMatchObject({ status: 400, json: { code: 'flow_already_used' } });
    expect((await listConnections(running, 'alice')).map((connection) => connection.status)).toEqual(['active']);
    expect(running.stack.sandbox.revokedGrants('slack')).not.toContain('alice');
  });

  it('parks and confirms the grant of every catalog provider (OAuth 1.0a, per-connection config and all)', async () => {
    const ids = builtInProviders.map((provider) => provider.id);
    for (const provider of ids) {
      const userId = `every-${provider.replaceAll('_', '-')}`;
      const body: AuthorizeBody = {
        tenantId: running.tenantId,
        userId,
        provider,
        returnUrl: running.driver.returnUrl,
        ...(provider === 'smart_on_fhir' ? { connectionConfig: { fhirBaseUrl: SMART_BASE } } : {}),
      };
      const end = await connectThroughBrowser(running.driver, body);
      const flowId = end.location?.searchParams.get('flow_id');
      expect({ provider, outcome: end.location?.searchParams.get('outcome') }).toEqual({ provider, outcome: 'pending_confirmation' });
      const { status, json } = await confirm(flowId as string, userId);
      expect({ provider, status, code: json.code }).toEqual({ provider, status: 200, code: undefined });
      expect((await listConnections(running, userId)).map((connection) => connection.provider)).toEqual([provider]);
    }
  });

  it('stores nothing when the link was opened by someone else, and revokes their grant at the provider (session swap)', async () => {
    // Mallory starts a flow for herself and forwards the link; the victim approves with their own workspace.
    const { location } = await connectAs(running, 'mallory', 'victimcorp');
    expect(location.searchParams.get('outcome')).toBe('pending_confirmation');
    const flowId = location.searchParams.get('flow_id') as string;

    // The victim's browser lands on the product, where the victim is the signed-in user.
    const refused = await confirm(flowId, 'victim');
    expect(refused).toMatchObject({ status: 403, json: { code: 'flow_user_mismatch' } });
    expect(running.stack.sandbox.revokedGrants('slack')).toEqual(expect.arrayContaining(['victimcorp']));
    expect(await listConnections(running, 'mallory')).toEqual([]);
    expect(await listConnections(running, 'victim')).toEqual([]);
    expect(await storedConnectionsOf(running, 'mallory')).toBe(0);
    expect(await auditActionsOf(running, 'mallory')).toEqual(expect.arrayContaining(['flow.awaiting_confirmation', 'flow.confirmation_refused']));
    expect(await auditActionsOf(running, 'mallory')).not.toContain('connection.connected');

    // Mallory cannot rescue the refused grant by confirming it for herself afterwards.
    const late = await confirm(flowId, 'mallory');
    expect(late).toMatchObject({ status: 400, json: { code: 'flow_already_used' } });
    expect(await storedConnectionsOf(running, 'mallory')).toBe(0);
  });

  it('hands the revocation of a refused grant to the refresh sweep when the provider is down', async () => {
    const { location } = await connectAs(running, 'erin', 'erincorp');
    const flowId = location.searchParams.get('flow_id') as string;
    running.stack.sandbox.failNext('slack', 'revoke', { kind: 'status', status: 503 }, 3);
    expect((await confirm(flowId, 'someone-else')).json).toMatchObject({ code: 'flow_user_mismatch' });
    expect(running.stack.sandbox.revokedGrants('slack')).not.toContain('erincorp');
    // The token waits sealed in a pending revocation (no connection: the grant never became one); nothing else is kept.
    const pending = await running.firestore.collection(collectionNames.pendingRevocations).where('userId', '==', 'erin').get();
    expect(pending.docs.map((doc) => doc.data())).toEqual([
      expect.objectContaining({ connectionId: null, provider: 'slack', lastErrorCode: 'provider_unavailable', token: expect.objectContaining({ ciphertext: expect.anything() }) }),
    ]);
    const parked = await running.firestore.collection(collectionNames.parkedGrants).where('userId', '==', 'erin').get();
    expect(parked.docs.map((doc) => doc.data())).toEqual([expect.objectContaining({ state: 'discarded', discardReason: 'user_mismatch', grant: null })]);
    expect(await storedConnectionsOf(running, 'erin')).toBe(0);
  });

  it('lets only a caller the policy allows for the tenant confirm, and knows no flow of another tenant', async () => {
    const { location } = await connectAs(running, 'bob', 'bob');
    const flowId = location.searchParams.get('flow_id') as string;
    expect((await confirm(flowId, 'bob', OTHER_CALLER)).json).toMatchObject({ code: 'caller_not_allowed' });
    const otherTenant = await running.call('connections', '/confirm', { tenantId: 'another-tenant', flowId, userId: 'bob' });
    expect(otherTenant).toMatchObject({ status: 400, json: { code: 'flow_not_found' } });
    expect((await confirm('A'.repeat(43), 'bob')).json).toMatchObject({ code: 'flow_not_found' });
    expect((await confirm('not a flow id', 'bob')).json).toMatchObject({ code: 'invalid_request' });
    // None of that spent the flow: the product's own confirmation still works.
    expect((await confirm(flowId, 'bob')).status).toBe(200);
  });

  it('discards and revokes a grant nobody confirmed within the window: the refresh sweep does it, a late confirmation is refused', async () => {
    if (unconfirmed === undefined) throw new Error('runs after the first case of this block, which parks the grant');
    const { flowId, parkedAtMs } = unconfirmed;

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, parkedAtMs + (WINDOW_SECONDS + 1) * 1000 - Date.now())));
    await running.stack.sweeps.runNow();
    expect(running.stack.sandbox.revokedGrants('slack')).toContain('carolcorp');
    expect(await auditActionsOf(running, 'carol')).toEqual(expect.arrayContaining(['flow.awaiting_confirmation', 'flow.confirmation_expired']));
    const parked = await running.firestore.collection(collectionNames.parkedGrants).where('userId', '==', 'carol').get();
    expect(parked.docs.map((doc) => doc.data())).toEqual([expect.objectContaining({ state: 'discarded', discardReason: 'expired', grant: null })]);

    const late = await confirm(flowId, 'carol');
    expect(late).toMatchObject({ status: 400, json: { code: 'flow_expired' } });
    expect(await listConnections(running, 'carol')).toEqual([]);
    expect(await storedConnectionsOf(running, 'carol')).toBe(0);
  });
});

describe('a tenant without the requirement', () => {
  it('stores the connection at the callback and returns to the product with its id, as before', async () => {
    // The setting names tenants: this one is not among them.
    const direct = running.forTenant(DIRECT_TENANT);
    const started = await authorize(direct.driver, { tenantId: direct.tenantId, userId: 'dave', provider: 'slack' });
    expect(await started.json()).toMatchObject({ userConfirmation: 'not_required' });

    const { location } = await connectAs(direct, 'dave', 'davecorp');
    expect(location.searchParams.get('outcome')).toBe('connected');
    expect(location.searchParams.get('flow_id')).toBeNull();
    const connectionId = location.searchParams.get('connection_id');
    expect((await listConnections(direct, 'dave')).map((connection) => connection.connectionId)).toEqual([connectionId]);
    const token = await direct.call('token', '', { tenantId: direct.tenantId, userId: 'dave', provider: 'slack' });
    expect(token.status).toBe(200);
    expect(await direct.firestore.collection(collectionNames.parkedGrants).where('tenantId', '==', DIRECT_TENANT).get()).toHaveProperty('size', 0);
  });
});
