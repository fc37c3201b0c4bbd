// oidc-provider (a certified OpenID provider nobody here wrote) as a standing peer on loopback, configured strictly:
// PKCE required, `iss` in authorization responses, refresh tokens rotated with reuse detection, offline_access
// honoured only with prompt=consent (its default, after OpenID Connect Core §11), short-lived access tokens.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Provider } from 'oidc-provider';

export interface OidcPeerOptions {
  /** The redirect URIs the broker's client is registered with. */
  readonly redirectUris: readonly string[];
  /** The issuer it claims to be; by default its own loopback origin (`http://127.0.0.1:<port>`). */
  readonly issuer?: string;
  readonly clientAuthentication?: 'client_secret_basic' | 'client_secret_post';
}

export interface OidcPeer {
  readonly issuer: string;
  /** Where it really listens (the issuer's origin unless an issuer was given). */
  readonly origin: string;
  readonly client: { readonly clientId: string; readonly clientSecret: string };
  /** Access token lifetime in seconds; about a minute, as the spec of this peer asks, unless a test shortens it. */
  accessTokenTtlSeconds: number;
  /** Token endpoint grants the peer answered, by grant type and result. */
  grants(grantType: string, result: 'success' | 'error'): number;
  /** RFC 7662 introspection, authenticated as the broker's client. */
  introspect(token: string): Promise<{ active: boolean; [claim: string]: unknown }>;
  /** A browser with a cookie jar that signs in as `account` and consents; returns the redirect's query. */
  signInAndConsent(authorizationUrl: string, account: string): Promise<URLSearchParams>;
  close(): Promise<void>;
}

export async function startOidcPeer(options: OidcPeerOptions): Promise<OidcPeer> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = options.issuer ?? origin;
  const client = { clientId: 'broker', clientSecret: `peer-secret-${Math.random().toString(36).slice(2)}-0123456789` };
  const counts = new Map<string, number>();
  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  const peer = {
    issuer,
    origin,
    client,
    accessTokenTtlSeconds: 60,
  } as OidcPeer;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [...options.redirectUris],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: options.clientAuthentication ?? 'client_secret_basic',
      },
    ],
    features: { devInteractions: { enabled: true }, revocation: { enabled: true }, introspection: { enabled: true } },
    pkce: { required: () => true },
    // Every refresh consumes the token it was given; presenting a consumed one revokes the whole grant.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: () => peer.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Session: 3600,
      Interaction: 600,
    },
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, email: `${id}@peer.test`, name: `Peer user ${id}` }) }),
  });
  provider.proxy = options.issuer !== undefined;
  provider.on('grant.success', (ctx) => count(`${grantTypeOf(ctx)} success`));
  provider.on('grant.error', (ctx) => count(`${grantTypeOf(ctx)} error`));
  const callback = provider.callback();
  const issuerHost = new URL(issuer).host;
  server.on('request', (req, res) => {
    if (options.issuer !== undefined) {
      // Reached through PROVIDER_ORIGIN_OVERRIDES: it answers as the issuer it claims to be.
      req.headers.host = issuerHost;
      req.headers['x-forwarded-proto'] = new URL(issuer).protocol.replace(':', '');
    }
    void callback(req, res);
  });

  const toPeer = (url: string) => (options.issuer === undefined ? url : url.replace(new URL(issuer).origin, origin));
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;

  return Object.assign(peer, {
    grants: (grantType: string, result: 'success' | 'error') => counts.get(`${grantType} ${result}`) ?? 0,
    async introspect(token: string) {
      const response = await fetch(`${origin}/token/introspection`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      if (response.status !== 200) throw new Error(`introspection answered ${response.status}`);
      return (await response.json()) as { active: boolean };
    },
    signInAndConsent: (authorizationUrl: string, account: string) => signInAndConsent(authorizationUrl, account, { issuer, redirectUris: options.redirectUris, toPeer }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

function grantTypeOf(ctx: unknown): string {
  return String((ctx as { oidc?: { params?: { grant_type?: unknown } } }).oidc?.params?.grant_type ?? 'unknown');
}

/** Follows the peer's dev interaction pages (login, then consent) with a cookie jar, until it redirects to a client. */
async function signInAndConsent(
  url: string,
  account: string,
  peer: { issuer: string; redirectUris: readonly string[]; toPeer: (url: string) => string },
): Promise<URLSearchParams> {
  const cookies = new Map<string, string>();
  let next: { url: string; method: 'GET' | 'POST'; body?: string } = { url, method: 'GET' };
  for (let step = 0; step < 12; step += 1) {
    if (peer.redirectUris.some((uri) => next.url.startsWith(uri))) return new URL(next.url).searchParams;
    const response = await fetch(peer.toPeer(next.url), {
      method: next.method,
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(next.body ? { body: next.body } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, ...value] = (pair ?? '').split('=');
      if (name) cookies.set(name.trim(), value.join('='));
    }
    const location = response.headers.get('location');
    if (location) {
      next = { url: new URL(location, peer.issuer).href, method: 'GET' };
      continue;
    }
    const html = await response.text();
    const action = /action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`the peer showed no form (HTTP ${response.status} at ${new URL(next.url).pathname}): ${html.slice(0, 300)}`);
    // The dev interaction forms name their step in a hidden "prompt" field: login, then consent.
    const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1] ?? '';
    const fields: Record<string, string> = prompt === 'login' ? { prompt, login: account, password: 'any' } : { prompt };
    next = { url: new URL(action, peer.issuer).href, method: 'POST', body: new URLSearchParams(fields).toString() };
  }
  throw new Error('the peer never redirected back');
}
