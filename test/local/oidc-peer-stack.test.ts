// oidc-provider, a certified OpenID provider, as a strict peer of the production-shaped stack: added through
// configuration only (OIDC_PROVIDERS with its loopback issuer, PROVIDER_PEER_CLIENT_*), driven over the broker's HTTP
// functions only. Connect with PKCE and `iss`, token reads checked at the peer's introspection endpoint, refreshes
// against rotation with reuse detection, 50 concurrent reads of an expired token across two token processes, offline
// access that did not come, a foreign `iss`, and disconnect.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findFreePort } from '../../local/free-port.js';
import { type FunctionProcess, startFunctionProcess } from '../../local/function-process.js';
import { type LocalStack, localIdentities, startLocalStack } from '../../local/local-stack.js';
import { loadConfig } from '../../shared/config/config.js';
import { collectionNames } from '../../shared/store/collections.js';
import { createFirestore } from '../../shared/store/firestore-client.js';
import { type OidcPeer, startOidcPeer } from '../support/oidc-peer.js';
import { createStackHttp, type ProviderConsent, type StackHttp } from '../support/stack-http.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tenantId = localIdentities.demoTenant;

describe('oidc-provider as a strict OpenID peer, added by configuration and used over HTTP only', () => {
  let stateDir = '';
  let stack: LocalStack;
  let peer: OidcPeer;
  let http: StackHttp;
  let secondToken: FunctionProcess | undefined;
  let callbackUrl = '';

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'broker-oidc-peer-'));
    // The redirect URI must be registered at the peer before the stack exists: the stack's port is chosen here.
    const port = await findFreePort();
    callbackUrl = `http://127.0.0.1:${port}/callback`;
    peer = await startOidcPeer({ redirectUris: [callbackUrl] });
    const providers = [
      { id: 'peer', displayName: 'OIDC peer', issuer: peer.issuer, scopes: ['email', 'offline_access'] },
      // The same peer, configured to choose its own prompt: offline_access is then ignored, as Core §11 allows.
      { id: 'peer_login', displayName: 'OIDC peer (login prompt)', issuer: peer.issuer, scopes: ['email', 'offline_access'], authorizationParams: { prompt: 'login' } },
    ];
    stack = await startLocalStack({
      repoRoot,
      port,
      stateDir,
      projectId: `oidc-peer-${process.pid}`,
      env: {
        FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'),
        PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'),
        SWEEP_INTERVAL_SECONDS: '3600',
        TOKEN_MIN_VALIDITY_SECONDS: '5',
        OIDC_PROVIDERS: JSON.stringify(providers),
        PROVIDER_PEER_CLIENT_ID: peer.client.clientId,
        PROVIDER_PEER_CLIENT_SECRET: peer.client.clientSecret,
        PROVIDER_PEER_LOGIN_CLIENT_ID: peer.client.clientId,
        PROVIDER_PEER_LOGIN_CLIENT_SECRET: peer.client.clientSecret,
      },
    });
    expect(stack.description.callbackUrl).toBe(callbackUrl);
    http = await createStackHttp(stack, stateDir, tenantId);
  }, 120_000);

  afterAll(async () => {
    await secondToken?.stop();
    await stack?.stop();
    await peer?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  /** The peer's login and consent pages, as the user's browser goes through them; `seen` gets the authorization URL. */
  const peerConsent =
    (account: string, seen?: (url: URL) => void): ProviderConsent =>
    async (authorizationUrl) => {
      seen?.(authorizationUrl);
      const params = await peer.signInAndConsent(authorizationUrl.href, account);
      return new URL(`${callbackUrl}?${params}`);
    };

  async function listConnections(userId: string): Promise<Record<string, unknown>[]> {
    const query = new URLSearchParams({ tenantId, userId });
    const response = await fetch(`${stack.description.functionsOrigin}/connections/?${query}`, {
      headers: { authorization: `Bearer ${await http.mint(stack.description.demoCaller, 'connections')}` },
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { connections: Record<string, unknown>[] }).connections;
  }

  let connectionId = '';

  it('connects with PKCE, prompt=consent for offline_access and iss checked; the token it serves is active at the peer', async () => {
    let authorization: URL | undefined;
    const end = await http.connectInBrowser('peer', 'carol', peerConsent('carol', (url) => void (authorization = url)), {
      beforeCallback: (callback) => {
        expect(callback.searchParams.get('iss')).toBe(peer.issuer);
        return callback;
      },
    });
    expect(authorization?.origin).toBe(peer.origin);
    expect(authorization?.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization?.searchParams.get('prompt')).toBe('consent');
    expect(authorization?.searchParams.get('scope')).toBe('openid email offline_access');
    const confirmed = await http.confirmAsProduct(end, 'carol');
    expect(confirmed.outcome).toBe('connected');
    connectionId = confirmed.connectionId;

    const token = await http.readToken({ userId: 'carol', provider: 'peer' });
    expect(token.connectionId).toBe(connectionId);
    expect(await peer.introspect(token.accessToken)).toMatchObject({ active: true, client_id: peer.client.clientId, sub: 'carol' });
    // The id_token carries no email (the peer keeps scope claims for userinfo): the name comes from userinfo.
    const [listed] = await listConnections('carol');
    expect(listed).toMatchObject({ connectionId, displayName: 'carol@peer.test', status: 'active', statusReason: null });
  });

  /** Waits until the connection's served token has expired (the broker refreshes a valid token at most every 30 s). */
  async function untilExpired(expiresAt: string | null): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(expiresAt as string) - Date.now()) + 300));
  }

  let lastServed: { accessToken: string; expiresAt: string | null } | undefined;

  it('refreshes twice against rotation with reuse detection, and each new token is the one served', async () => {
    // Tokens that live 2 s, so the second refresh meets an expired token rather than waiting out the refresh interval.
    peer.accessTokenTtlSeconds = 2;
    let previous = (await http.readToken({ userId: 'carol', provider: 'peer' })).accessToken;
    for (const round of [1, 2]) {
      const before = peer.grants('refresh_token', 'success');
      // Round 1: more validity than the token has left; round 2: the token has expired.
      const refreshed = await http.readToken({ userId: 'carol', provider: 'peer', ...(round === 1 ? { minValiditySeconds: 120 } : {}) });
      expect({ round, refreshes: peer.grants('refresh_token', 'success') - before }).toEqual({ round, refreshes: 1 });
      expect(refreshed.accessToken).not.toBe(previous);
      expect(await peer.introspect(refreshed.accessToken)).toMatchObject({ active: true });
      expect(await peer.introspect(previous)).toMatchObject({ active: round === 1 });
      expect((await http.readToken({ userId: 'carol', provider: 'peer' })).accessToken).toBe(refreshed.accessToken);
      previous = refreshed.accessToken;
      lastServed = refreshed;
      if (round === 1) await untilExpired(refreshed.expiresAt);
    }
    // A reused (rotated-out) refresh token would have made the peer refuse it and revoke the whole grant.
    expect(peer.grants('refresh_token', 'error')).toBe(0);
  }, 30_000);

  it('answers 50 concurrent reads of an expired token across two token processes with exactly one refresh at the peer', async () => {
    // A second instance of the token function: its own process, the same environment, the same Firestore and KMS.
    secondToken = await startFunctionProcess({
      repoRoot,
      name: 'token',
      port: await findFreePort(),
      env: stack.functionEnvironments.token,
      serviceName: 'oauth-broker-token',
    });
    peer.accessTokenTtlSeconds = 60;
    const expired = lastServed as { accessToken: string; expiresAt: string | null };
    await untilExpired(expired.expiresAt);

    const before = { success: peer.grants('refresh_token', 'success'), error: peer.grants('refresh_token', 'error') };
    const body = JSON.stringify({ tenantId, userId: 'carol', provider: 'peer' });
    const instances = [`${stack.description.functionsOrigin}/token`, (secondToken as FunctionProcess).origin];
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, index) => {
        const response = await fetch(instances[index % 2] as string, {
          method: 'POST',
          headers: { authorization: `Bearer ${await http.mint(stack.description.demoCaller, 'token')}`, 'content-type': 'application/json' },
          body,
        });
        return { status: response.status, body: (await response.json()) as { accessToken?: string } };
      }),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 50 }, () => 200));
    expect({ refreshes: peer.grants('refresh_token', 'success') - before.success, errors: peer.grants('refresh_token', 'error') - before.error }).toEqual({
      refreshes: 1,
      errors: 0,
    });
    const served = new Set(answers.map((answer) => answer.body.accessToken));
    expect(served.size).toBe(1);
    expect(served.has(expired.accessToken)).toBe(false);
    expect(await peer.introspect([...served][0] as string)).toMatchObject({ active: true });
    const [listed] = await listConnections('carol');
    expect(listed).toMatchObject({ connectionId, status: 'active' });
  }, 45_000);

  it('reports a grant that asked for offline access and came without a refresh token as connected_without_refresh', async () => {
    let authorization: URL | undefined;
    const end = await http.connectInBrowser('peer_login', 'erin', peerConsent('erin', (url) => void (authorization = url)));
    expect(authorization?.searchParams.get('prompt')).toBe('login');
    const confirmed = await http.confirmAsProduct(end, 'erin');
    expect(confirmed.outcome).toBe('connected_without_refresh');
    const [listed] = await listConnections('erin');
    expect(listed).toMatchObject({ connectionId: confirmed.connectionId, status: 'active', statusReason: 'connected_without_refresh' });
    // Products hear of it at once, in the connection's events (the outbox the publisher drains to Pub/Sub).
    const firestore = createFirestore(loadConfig(stack.functionEnv));
    try {
      const events = await firestore.collection(collectionNames.connectionEvents).where('connectionId', '==', confirmed.connectionId).get();
      expect(events.docs.map((doc) => doc.get('type') as string).sort()).toEqual(['connection.connected_without_refresh', 'connection.created']);
    } finally {
      await firestore.terminate();
    }
    // It works until its access token expires, and cannot be refreshed.
    const token = await http.readToken({ userId: 'erin', provider: 'peer_login' });
    expect(await peer.introspect(token.accessToken)).toMatchObject({ active: true });
  });

  it('refuses a callback carrying another issuer`s iss', async () => {
    const end = await http.connectInBrowser('peer', 'dave', peerConsent('dave'), {
      beforeCallback: (callback) => {
        const forged = new URL(callback);
        forged.searchParams.set('iss', 'https://another-issuer.example');
        return forged;
      },
    });
    expect(Object.fromEntries(end.searchParams)).toMatchObject({ outcome: 'failed', error: 'issuer_mismatch' });
    expect(await listConnections('dave')).toEqual([]);
  });

  it('disconnects with revocation at the peer: its tokens are inactive there', async () => {
    const { accessToken } = await http.readToken({ userId: 'carol', provider: 'peer' });
    const disconnected = await http.call('connections', '/disconnect', { tenantId, connectionId });
    expect(disconnected.status).toBe(200);
    expect(await disconnected.json()).toMatchObject({ connectionId, status: 'revoked', providerRevocation: { outcome: 'revoked' } });
    expect(await peer.introspect(accessToken)).toMatchObject({ active: false });
  });
});
