// The whole product over HTTP only, against the production-shaped stack (each function its own process from dist/,
// with exactly what functions/manifest.json gives it): connect through the browser steps (and the product's
// confirmation of its user) for an OAuth 2.0, an OAuth 1.0a and a client-credentials provider, read tokens, force a refresh, run both sweeps as the scheduler, read the
// admin stats as the operator, and disconnect with revocation at the provider.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalStack, localIdentities, startLocalStack } from '../../local/local-stack.js';
import { createStackHttp, sandboxApproves, type StackHttp } from '../support/stack-http.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const MICROSOFT_TENANT = '0b5e7c1a-3f2d-4e8b-9a61-2c4d5e6f7a8b';

describe('the production-shaped stack, end to end over HTTP', () => {
  let stateDir = '';
  let stack: LocalStack;
  let http: StackHttp;
  let mint: StackHttp['mint'];
  const origin = () => stack.description.functionsOrigin;
  const tenantId = localIdentities.demoTenant;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'broker-production-stack-'));
    stack = await startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      projectId: `prod-shape-${process.pid}`,
      env: { FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'), PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'), SWEEP_INTERVAL_SECONDS: '3600' },
    });
    http = await createStackHttp(stack, stateDir, tenantId);
    mint = http.mint;
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  const call = (...args: Parameters<StackHttp['call']>) => http.call(...args);
  const readToken = (request: Record<string, unknown>) => http.readToken(request);
  const connectInBrowser = (provider: string, userId: string, steps: { afterAuthorize?: () => void; afterStart?: () => void } = {}) =>
    http.connectInBrowser(provider, userId, sandboxApproves(stack), steps);
  const confirmAsProduct = async (end: URL, userId: string) => {
    const confirmed = await http.confirmAsProduct(end, userId);
    expect(confirmed.outcome).toBe('connected');
    return confirmed.connectionId;
  };

  it('connects Slack (OAuth 2.0), Trello (OAuth 1.0a) and Microsoft app-only (client credentials), and serves their tokens', async () => {
    stack.sandbox.configure('slack', { tokenLifetimeSeconds: 600 });
    // OAuth 1.0a's signed request-token call is made by the start step (callback holds the consumer secret), not by
    // authorize, which holds no provider secret.
    const requestTokenCalls = { afterAuthorize: -1, afterStart: -1 };
    const trelloSteps = {
      afterAuthorize: () => void (requestTokenCalls.afterAuthorize = stack.sandbox.calls('trello', 'request_token')),
      afterStart: () => void (requestTokenCalls.afterStart = stack.sandbox.calls('trello', 'request_token')),
    };
    for (const provider of ['slack', 'trello']) {
      const end = await connectInBrowser(provider, 'alice', provider === 'trello' ? trelloSteps : {});
      expect(`${end.origin}${end.pathname}`).toBe(stack.description.returnUrl);
      const connectionId = await confirmAsProduct(end, 'alice');
      const token = await readToken({ userId: 'alice', provider });
      expect(token.connectionId).toBe(connectionId);
    }
    expect(requestTokenCalls).toEqual({ afterAuthorize: 0, afterStart: 1 });
    const created = await call('connections', '/client-credentials', { tenantId, provider: 'microsoft', connectionConfig: { tenant: MICROSOFT_TENANT } });
    expect(created.status).toBe(200);
    const appOnly = await readToken({ provider: 'microsoft' });
    expect(appOnly.connectionId).toBe(((await created.json()) as { connectionId: string }).connectionId);
  });

  it('refreshes when the caller needs more validity than the token has left, and serves the new token', async () => {
    const before = await readToken({ userId: 'alice', provider: 'slack' });
    stack.sandbox.resetCalls();
    const after = await readToken({ userId: 'alice', provider: 'slack', minValiditySeconds: 1800 });
    expect(stack.sandbox.calls('slack', 'refresh')).toBe(1);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.connectionId).toBe(before.connectionId);
    expect((await readToken({ userId: 'alice', provider: 'slack' })).accessToken).toBe(after.accessToken);
  });

  it('runs the refresh and health sweeps for the scheduler only', async () => {
    const reports: Record<string, Record<string, unknown>> = {};
    for (const sweep of ['refresh', 'health']) {
      const asScheduler = await call(sweep, '', {}, localIdentities.schedulerCaller);
      expect({ sweep, status: asScheduler.status }).toEqual({ sweep, status: 200 });
      reports[sweep] = (await asScheduler.json()) as Record<string, unknown>;
      const asProduct = await call(sweep, '', {});
      expect({ sweep, status: asProduct.status }).toEqual({ sweep, status: 403 });
    }
    // Both sweeps ran over the stored connections and failed none.
    expect(reports.refresh).toMatchObject({ failed: { total: 0 } });
    expect(reports.health).toMatchObject({ failed: { total: 0 } });
  });

  it('shows the operator the stats, through the IAP stand-in and with an ID token for the admin URL', async () => {
    const throughIap = await fetch(`${origin()}/iap/admin/api/stats`);
    expect(throughIap.status).toBe(200);
    const stats = (await throughIap.json()) as Record<string, unknown>;
    expect(JSON.stringify(stats)).toMatch(/slack/);
    const withToken = await fetch(`${origin()}/admin/api/stats`, { headers: { authorization: `Bearer ${await mint(localIdentities.adminUser, 'admin')}` } });
    expect(withToken.status).toBe(200);
    const asProduct = await fetch(`${origin()}/admin/api/stats`, { headers: { authorization: `Bearer ${await mint(stack.description.demoCaller, 'admin')}` } });
    expect(asProduct.status).toBe(403);
  });

  it('disconnects with revocation at the provider: the access token no longer works there', async () => {
    const { accessToken, connectionId } = await readToken({ userId: 'alice', provider: 'slack' });
    const authTest = () =>
      fetch(`${stack.sandbox.originOverrides['https://slack.com']}/api/auth.test`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } }).then(
        (response) => response.json() as Promise<{ ok: boolean }>,
      );
    expect((await authTest()).ok).toBe(true);
    stack.sandbox.resetCalls();
    const disconnected = await call('connections', '/disconnect', { tenantId, connectionId });
    expect(disconnected.status).toBe(200);
    expect(await disconnected.json()).toMatchObject({ connectionId, status: 'revoked', credentialsDestroyed: true, providerRevocation: { outcome: 'revoked' } });
    expect(stack.sandbox.calls('slack', 'revoke')).toBe(1);
    expect((await authTest()).ok).toBe(false);
    expect((await call('token', '', { tenantId, userId: 'alice', provider: 'slack' })).status).toBeGreaterThanOrEqual(400);
  });
});
