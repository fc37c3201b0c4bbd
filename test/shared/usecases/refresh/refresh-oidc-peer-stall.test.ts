// The stalled refresh against an independent peer: oidc-provider (certified OpenID provider) rotating refresh tokens with
// its own reuse detection (a consumed token presented again revokes the grant). Its token replies are held past the
// caller's deadline after it rotated; the broker must store every reply and never present a consumed token.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Provider } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../shared/config/config.js';
import { createProviderCatalog } from '../../../../shared/providers/registry.js';
import { readStoredConnection, writeConnection } from '../../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';
import { startVaultHarness, type VaultHarness } from '../../../support/vault-harness.js';
import { type ProviderSandbox, startProviderSandbox } from '../../../../local/provider-sandbox/provider-sandbox.js';
import { type EngineInstance, logEvents, readAsCaller, stalledRefreshStored, startInstance } from './engine-harness.js';
import { changeStamp } from '../../../../shared/store/connection-change.js';

const project = useFirestoreTestProject('refresh-oidc-peer-stall');
const ISSUER = 'https://op.peer.test';
const client = { clientId: 'broker', clientSecret: 'peer-secret-0123456789abcdef' };
const ROUNDS = 5;
const LEASE_TTL_MS = 3_000;
const CALLER_WAIT_MS = 250;
const STALL_MS = 5_000;

let peer: Provider;
let server: Server;
let peerOrigin: string;
let sandbox: ProviderSandbox;
let vaults: VaultHarness;
const instances: EngineInstance[] = [];
const logLines: string[] = [];
/** The next token reply is held this long after the peer produced it (it has rotated by then). */
let stallNextTokenReplyMs = 0;
let tokenRequests = 0;

beforeAll(async () => {
  [sandbox, vaults] = await Promise.all([startProviderSandbox(), startVaultHarness()]);
  peer = new Provider(ISSUER, {
    clients: [{ ...{ client_id: client.clientId, client_secret: client.clientSecret }, redirect_uris: ['https://broker.example.test/callback'], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic' }],
    rotateRefreshToken: true,
    claims: { openid: ['sub'], email: ['email'] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, email: `${id}@peer.test` }) }),
  });
  peer.proxy = true;
  const callback = peer.callback();
  server = createServer((req, res) => {
    req.headers.host = 'op.peer.test';
    req.headers['x-forwarded-proto'] = 'https';
    if (req.method === 'POST' && (req.url ?? '').startsWith('/token')) {
      tokenRequests += 1;
      const holdMs = stallNextTokenReplyMs;
      stallNextTokenReplyMs = 0;
      if (holdMs > 0) {
        // The peer does all its work (rotation included); only the bytes of its answer are held back.
        const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
        res.end = ((...args: unknown[]) => {
          setTimeout(() => end(...args), holdMs);
          return res;
        }) as typeof res.end;
      }
    }
    void callback(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peerOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  // A reader that gave up may still be polling for the lease (every 250 ms at most): let its last look finish.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await Promise.all(instances.map((instance) => instance.close()));
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await Promise.all([sandbox?.close(), vaults?.close()]);
});

/** A grant the user consented to at the peer, with its first refresh token (minted through the peer's own models). */
async function consentedRefreshToken(account: string): Promise<string> {
  const grant = new peer.Grant({ accountId: account, clientId: client.clientId });
  grant.addOIDCScope('openid email offline_access');
  const grantId = await grant.save();
  const registered = await peer.Client.find(client.clientId);
  const token = new peer.RefreshToken({
    accountId: account,
    client: registered,
    grantId,
    gty: 'authorization_code',
    scope: 'openid email offline_access',
    sessionUid: `session-${account}`,
    expiresWithSession: false,
    iiat: Math.floor(Date.now() / 1000),
    rotations: 0,
  });
  return token.save();
}

describe('a stalled refresh at oidc-provider, with rotation and reuse detection', () => {
  it(`stores every late reply and keeps the grant alive, ${ROUNDS} rounds`, { timeout: 300_000 }, async () => {
    const config = loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', OIDC_PROVIDERS: JSON.stringify([{ id: 'peer', displayName: 'OIDC peer', issuer: ISSUER, scopes: ['email', 'offline_access'] }]) });
    const catalog = createProviderCatalog(config.providers.oidcProviders);
    const connectionId = await writeConnection(project.firestore, vaults.vault, {
      tenantId: 'acme',
      userId: 'erin',
      provider: 'peer',
      providerAccountId: 'erin',
      credentials: { accessToken: 'at-expired-not-a-secret', refreshToken: await consentedRefreshToken('erin') },
      expiresAtMs: Date.now() - 1_000,
      scopes: ['openid', 'email', 'offline_access'],
    });
    const settings = {
      config: project.config,
      vaults,
      sandbox,
      clients: { peer: client },
      logLines,
      catalog,
      originOverrides: { [ISSUER]: peerOrigin },
      refresh: { leaseTtlMs: LEASE_TTL_MS, callerWaitMs: CALLER_WAIT_MS, replyDeadlineMs: 30_000 },
    };
    const [first, second] = [startInstance(settings), startInstance(settings)];
    instances.push(first, second);
    const request = { tenantId: 'acme', userId: 'erin', provider: 'peer' };

    const stall = { firestore: project.firestore, vault: vaults.vault, connectionId, request, first, second, pauseMs: LEASE_TTL_MS * 1.2, timeoutMs: STALL_MS * 4 };
    let previousRefreshToken = (await readStoredConnection(project.firestore, vaults.vault, connectionId)).credentials.refreshToken;
    for (let round = 1; round <= ROUNDS; round += 1) {
      await project.firestore.collection('connections').doc(connectionId).update({ expiresAtMs: Date.now() - 1_000, nextRefreshAtMs: Date.now() - 1_000, ...changeStamp() });
      tokenRequests = 0;
      stallNextTokenReplyMs = STALL_MS;
      const stored = await stalledRefreshStored({ ...stall, previousRefreshToken, label: `round ${round}` });
      expect(stored.credentials.refreshToken, `round ${round}: the rotated token was stored`).not.toBe(previousRefreshToken);
      expect((await readAsCaller(second, request)).accessToken, `round ${round}`).toBe(stored.credentials.accessToken);
      expect(tokenRequests, `round ${round}: one token request, so no consumed token was ever presented`).toBe(1);
      expect(stored.connection.document.status).toBe('active');
      previousRefreshToken = stored.credentials.refreshToken;
    }

    // The peer still honours the grant: one more refresh with the last stored token succeeds.
    await project.firestore.collection('connections').doc(connectionId).update({ expiresAtMs: Date.now() - 1_000, nextRefreshAtMs: Date.now() - 1_000, ...changeStamp() });
    tokenRequests = 0;
    await readAsCaller(first, request);
    expect(tokenRequests).toBe(1);
    expect(logEvents(logLines, 'refresh.failed')).toEqual([]);
  });
});
