// One loopback server playing every provider: routes are /{production host}{production path}, plus /__admin.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey as JoseKey } from 'jose';
import { z } from 'zod';
import { hmacSha1Signature, parseOAuth1AuthorizationHeader } from '../../shared/oauth/oauth1-signature.js';
import { forgetProviderOrigin, noteProviderOrigin, recordJwt, recordSecret } from '../leak-ledger/leak-recorder.js';
import { catalogProviderSettings, dataProviderProfile } from './data-provider-profile.js';
import type { ParsedOAuth2ProviderSettings } from '../../shared/config/oauth2-provider-settings.js';
import { ATLASSIAN_SANDBOX_CLOUD_IDS, sandboxApiCalls, streamingApi } from './provider-apis.js';
import { type Reply, routeVariables, SANDBOX_ENDPOINT_ALLOWLIST, sandboxProfiles, SMART_BASE, type SandboxProfile, trelloUrls, variableHosts } from './profiles.js';
import {
  adminProviderBodySchema,
  type ProviderBehaviour,
  type ProviderSettings,
  providerSettingsSchema,
  type RegisteredClient,
  type SandboxEndpoint,
  type SandboxFault,
  sandboxFaultSchema,
  SandboxState,
} from './sandbox-state.js';

export type { ProviderSettings, SandboxEndpoint, SandboxFault };

/**
 * The sandbox's typed controls. `POST /__admin/providers/{id}` takes the same operations as JSON
 * (`{latencyMs, rotateRefreshTokens, invalidateRotatedRefreshTokens, refreshTokenGraceSeconds, revokeGrantOnReuse,
 * tokenLifetimeSeconds, faults, failNext}`),
 * validated by the same schemas, so `npm start` users and tests drive it alike.
 */
export interface ProviderSandbox {
  readonly origin: string;
  /** PROVIDER_ORIGIN_OVERRIDES for every production origin the sandbox plays. */
  readonly originOverrides: Readonly<Record<string, string>>;
  /** PROVIDER_ENDPOINT_ALLOWLIST registering the servers the sandbox plays for providers whose server a connection names (SMART). */
  readonly endpointAllowlist: typeof SANDBOX_ENDPOINT_ALLOWLIST;
  registerClient(provider: string, client: RegisteredClient): void;
  configure(provider: string, settings: ProviderSettings): void;
  /** A standing fault on one endpoint until cleared with `undefined`. */
  injectFault(provider: string, endpoint: SandboxEndpoint, fault: SandboxFault | undefined): void;
  /** A fault for the next `count` calls to one endpoint only; it then clears itself. Applied before standing faults. */
  failNext(provider: string, endpoint: SandboxEndpoint, fault: SandboxFault, count?: number): void;
  /**
   * A key in the provider's own format (HubSpot `pat-na1-...`) that its identity endpoints accept until the
   * sandbox is reset; `POST /__admin/providers/{id}/api-keys` with `{"account": "..."}` does the same.
   */
  issueApiKey(provider: string, account?: string): string;
  /** The provider API calls received since the last reset (what the proxy sent): who, where, and the Bearer token. */
  apiRequests(): readonly SandboxApiRequest[];
  /** Calls received (faulted ones included) since the last reset. */
  calls(provider: string, endpoint: SandboxEndpoint): number;
  /** Every non-zero counter, keyed `provider.endpoint`. */
  callCounts(): Readonly<Record<string, number>>;
  /** Zeroes the counters only, so a test can count the calls of one step. */
  resetCalls(): void;
  /** The accounts whose grant a revocation call ended, oldest first, since the last reset (GET /__admin/revocations). */
  revokedGrants(provider: string): readonly string[];
  issuedSecrets(): readonly string[];
  reset(): void;
  close(): Promise<void>;
}

export interface SandboxApiRequest {
  readonly provider: string;
  readonly method: string;
  readonly host: string;
  readonly path: string;
  /** The Bearer token it carried, if any. */
  readonly bearer: string | undefined;
  /** Whether the token was one this provider issued and is still live. */
  readonly tokenValid: boolean;
}

interface RouteEntry { readonly provider: string; readonly endpoint: SandboxEndpoint; readonly handler: Handler; readonly pattern: RegExp }
type Handler = (request: SandboxRequest) => Promise<Reply | RawReply> | Reply | RawReply;
interface RawReply { readonly raw: true; readonly status: number; readonly headers: Record<string, string>; readonly body: string }
interface SandboxRequest {
  readonly method: string;
  readonly url: URL; // production URL
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** Values of the route's variables: `{tenant}`, `{loginHost}`, `{clientId}`... */
  readonly params: Readonly<Record<string, string>>;
}

function raw(status: number, body: string, headers: Record<string, string> = {}): RawReply {
  return { raw: true, status, headers, body };
}

/** Whether a POST carries exactly this JSON object (a GraphQL query, field for field). */
function carriesJsonBody(request: SandboxRequest, expected: Readonly<Record<string, string>>): boolean {
  if (request.method !== 'POST' || !(request.headers['content-type'] ?? '').includes('json')) return false;
  try {
    return isDeepStrictEqual(JSON.parse(request.body), expected);
  } catch {
    return false;
  }
}

function formOrJson(request: SandboxRequest): Record<string, string> {
  if ((request.headers['content-type'] ?? '').includes('json')) {
    try {
      const parsed = JSON.parse(request.body) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(request.body));
}

function same(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const decode = (v: string) => decodeURIComponent(v.replace(/\+/g, ' '));
  return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
}

export interface ProviderSandboxOptions {
  readonly port?: number;
  /** Providers defined as data (OAUTH2_PROVIDERS) to play besides the built-in ones and the catalog folder's. */
  readonly dataProviders?: readonly ParsedOAuth2ProviderSettings[];
}

export async function startProviderSandbox(options: ProviderSandboxOptions = {}): Promise<ProviderSandbox> {
  const profiles: readonly SandboxProfile[] = [...sandboxProfiles, ...[...catalogProviderSettings(), ...(options.dataProviders ?? [])].map(dataProviderProfile)];
  const allProviders = [...profiles.map((p) => p.id), 'trello'];
  const knownProvider = (provider: string): string => {
    if (!allProviders.includes(provider)) throw new TypeError(`the sandbox plays no provider "${provider}"`);
    return provider;
  };
  const state = new SandboxState();
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'sandbox-1', alg: 'RS256', use: 'sig' };
  // Routes are production URL templates; GitHub OAuth Apps and GitHub Apps share every URL, so several may match.
  const routes: RouteEntry[] = [];
  const fixedHosts = new Set<string>(variableHosts);
  const route = (productionUrl: string, provider: string, endpoint: SandboxEndpoint, handler: Handler) => {
    const template = productionUrl.replace(/^https:\/\//, '');
    const source = template
      .split(/(\{[A-Za-z]+\})/)
      .map((part) => {
        const name = /^\{([A-Za-z]+)\}$/.exec(part)?.[1];
        return name === undefined ? part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : `(?<${name}>${routeVariables[name]?.source ?? '[^/]+'})`;
      })
      .join('');
    routes.push({ provider, endpoint, handler, pattern: new RegExp(`^${source}$`) });
    const host = template.split('/')[0] as string;
    if (!host.includes('{')) fixedHosts.add(host);
  };
  const behaviourOf = (provider: string): ProviderBehaviour =>
    state.behaviour(provider, profiles.find((p) => p.id === provider)?.defaults ?? { tokenLifetimeSeconds: null, rotate: false });

  const signIdToken = async (issuer: string, claims: Record<string, string>, clientId: string, account: string, nonce: string | undefined, nowS: number, privateKeyArg: JoseKey) => {
    const idToken = await new SignJWT({ email: `${account}@sandbox.test`, ...claims, ...(nonce ? { nonce } : {}) })
      .setProtectedHeader({ alg: 'RS256', kid: 'sandbox-1' })
      .setIssuer(issuer)
      .setAudience(clientId)
      .setSubject(`sub-${account}`)
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + 3600)
      .sign(privateKeyArg);
    recordJwt('sandbox:id_token', idToken);
    return idToken;
  };

  for (const profile of profiles) {
    route(profile.authorize, profile.id, 'authorize', (request) => authorize(profile, request));
    route(profile.token, profile.id, 'token', (request) => token(profile, request));
    if (profile.revoke) route(profile.revoke.url, profile.id, 'revoke', (request) => revoke(profile, request));
    for (const identity of profile.identity) {
      route(identity.url, profile.id, 'identity', (request) => {
        const grant = bearerGrant(request);
        // A token is good only at the authority that issued it (a sandbox org's token is not a production one).
        const foreign = Object.entries(request.params).some(([name, value]) => grant?.extra[name] !== undefined && grant.extra[name] !== value);
        noteApiRequest(profile.id, request, grant !== undefined && grant.provider === profile.id && !foreign);
        if (!grant || grant.provider !== profile.id || foreign) return profile.identityError?.() ?? { status: 401, body: { error: 'invalid_token' } };
        if (identity.requestBody !== undefined && !carriesJsonBody(request, identity.requestBody)) {
          return { status: 400, body: { error: 'invalid_request', error_description: 'the identity call must carry its documented body' } };
        }
        return { status: 200, body: identity.body(grant.account, grant.extra) };
      });
    }
  }
  route('https://accounts.google.com/.well-known/openid-configuration', 'google', 'discovery', () => ({
    status: 200,
    body: {
      issuer: 'https://accounts.google.com',
      authorization_endpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
      token_endpoint: 'https://oauth2.googleapis.com/token',
      userinfo_endpoint: 'https://openidconnect.googleapis.com/v1/userinfo',
      revocation_endpoint: 'https://oauth2.googleapis.com/revoke',
      jwks_uri: 'https://www.googleapis.com/oauth2/v3/certs',
      code_challenge_methods_supported: ['plain', 'S256'],
      authorization_response_iss_parameter_supported: true,
    },
  }));
  route('https://www.googleapis.com/oauth2/v3/certs', 'google', 'jwks', () => ({ status: 200, body: { keys: [jwk] } }));
  route(`${SMART_BASE}/.well-known/smart-configuration`, 'smart_on_fhir', 'discovery', () => ({
    status: 200,
    body: {
      issuer: SMART_BASE,
      authorization_endpoint: 'https://fhir.sandbox.test/auth/authorize',
      token_endpoint: 'https://fhir.sandbox.test/auth/token',
      revocation_endpoint: 'https://fhir.sandbox.test/auth/revoke',
      code_challenge_methods_supported: ['S256'],
      capabilities: ['launch-standalone', 'client-confidential-symmetric', 'context-standalone-patient', 'permission-offline'],
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
    },
  }));
  // The providers' own APIs, as the proxy reaches them: a live token of that provider, else the provider's refusal.
  const apiRequests: SandboxApiRequest[] = [];
  const noteApiRequest = (provider: string, request: SandboxRequest, tokenValid: boolean) => {
    const header = request.headers.authorization ?? '';
    apiRequests.push({
      provider,
      method: request.method,
      host: request.url.host,
      path: request.url.pathname,
      bearer: header.startsWith('Bearer ') ? header.slice(7) : undefined,
      tokenValid,
    });
  };
  for (const call of sandboxApiCalls) {
    const profile = profiles.find((p) => p.id === call.provider);
    route(call.url, call.provider, 'api', (request) => {
      const grant = bearerGrant(request);
      const valid = grant !== undefined && grant.provider === call.provider;
      noteApiRequest(call.provider, request, valid);
      if (!valid) return profile?.identityError?.() ?? { status: 401, body: { error: 'invalid_token' } };
      if (request.method !== call.method) return { status: 405, body: { error: 'method_not_allowed' } };
      const cloudId = request.params.cloudId;
      if (cloudId !== undefined && !(ATLASSIAN_SANDBOX_CLOUD_IDS as readonly string[]).includes(cloudId)) return { status: 404, body: { errorMessages: ['Site not found'] } };
      return { status: 200, body: call.body(grant.account) };
    });
  }
  route(trelloUrls.requestToken, 'trello', 'request_token', (request) => trelloRequestToken(request));
  route(trelloUrls.authorize, 'trello', 'authorize', (request) => trelloAuthorize(request));
  route(trelloUrls.accessToken, 'trello', 'access_token', (request) => trelloAccessToken(request));
  route(trelloUrls.member, 'trello', 'identity', (request) => {
    const grant = state.accessTokens.get(request.url.searchParams.get('token') ?? '');
    if (!grant || grant.provider !== 'trello' || grant.clientId !== request.url.searchParams.get('key')) return raw(401, 'invalid token');
    return { status: 200, body: { id: `member-${grant.account}`, username: grant.account } };
  });
  route('https://api.trello.com/1/tokens/{token}', 'trello', 'revoke', (request) => {
      const tokenValue = decodeURIComponent(request.url.pathname.split('/').pop() ?? '');
      if (request.method !== 'DELETE' || request.url.searchParams.get('token') !== tokenValue) return raw(400, 'bad request');
      if (!state.accessTokens.delete(tokenValue)) return raw(401, 'invalid token');
      return { status: 200, body: { _value: null } };
  });

  function clientFor(provider: string): RegisteredClient | undefined {
    return state.clients.get(provider);
  }

  function authenticate(profile: SandboxProfile, request: SandboxRequest, fields: Record<string, string>): RegisteredClient | undefined {
    const client = clientFor(profile.id);
    if (!client) return undefined;
    if (profile.clientAuth === 'basic') {
      const credentials = basicCredentials(request.headers.authorization);
      // A Basic-only provider refuses a secret in the body: catches a client using the wrong method.
      if (!credentials || fields.client_secret !== undefined) return undefined;
      return credentials.id === client.clientId && same(credentials.secret, client.clientSecret) ? client : undefined;
    }
    if (request.headers.authorization !== undefined) return undefined;
    return fields.client_id === client.clientId && same(fields.client_secret, client.clientSecret) ? client : undefined;
  }

  function authorize(profile: SandboxProfile, request: SandboxRequest): Reply | RawReply {
    const q = request.url.searchParams;
    const client = clientFor(profile.id);
    const redirectUri = q.get('redirect_uri') ?? '';
    // Never redirect to an unregistered URI: show an error page instead (RFC 6749 §4.1.2.1).
    if (!client || q.get('client_id') !== client.clientId || !client.redirectUris.includes(redirectUri)) {
      return raw(400, '<!doctype html><title>Sandbox</title><p>Unknown client or redirect_uri.</p>', { 'content-type': 'text/html' });
    }
    const back = new URL(redirectUri);
    const state_ = q.get('state');
    if (state_ !== null) back.searchParams.set('state', state_);
    if (state_ !== null) recordSecret('sandbox:state_received', state_);
    if (profile.iss) back.searchParams.set('iss', profile.iss);
    const fail = (error: string) => {
      back.searchParams.set('error', error);
      return raw(302, '', { location: back.href });
    };
    if (q.get('response_type') !== 'code') return fail('unsupported_response_type');
    const challenge = q.get('code_challenge') ?? undefined;
    if (profile.pkce === 'unsupported' && challenge !== undefined) return fail('invalid_request');
    if (profile.pkce === 'required' && challenge === undefined) return fail('invalid_request');
    if (challenge !== undefined && q.get('code_challenge_method') !== 'S256') return fail('invalid_request');
    for (const [name, value] of Object.entries(profile.requiredAuthorizeParams ?? {})) {
      if (q.get(name) !== value) return fail('invalid_request');
    }
    const decision = q.get('sandbox_decision');
    if (decision === null) {
      const approve = new URL(request.url);
      approve.searchParams.set('sandbox_decision', 'approve');
      const deny = new URL(request.url);
      deny.searchParams.set('sandbox_decision', 'deny');
      return raw(
        200,
        `<!doctype html><html><head><meta charset="utf-8"><title>${profile.id} sandbox consent</title></head><body>` +
          `<h1>Allow access to your ${profile.id} sandbox account?</h1>` +
          `<form method="get"><p><a id="allow" href="${escapeHtml(routedPath(approve))}">Allow</a> ` +
          `<a id="deny" href="${escapeHtml(routedPath(deny))}">Deny</a></p></form></body></html>`,
        { 'content-type': 'text/html; charset=utf-8' },
      );
    }
    if (decision === 'deny') return fail('access_denied');
    const code = state.secret(`sbxcode_${profile.id}_`);
    // The authority the code was issued by (tenant, login host) goes with it: another authority will not take it.
    const extra: Record<string, string> = { ...request.params };
    if (q.get('user_scope')) extra.user_scope = q.get('user_scope') as string;
    const nonce = q.get('nonce') ?? undefined;
    state.codes.set(code, {
      provider: profile.id,
      clientId: client.clientId,
      redirectUri,
      account: q.get('sandbox_account') ?? 'alice',
      scope: (q.get('scope') ?? q.get('user_scope') ?? '').replace(/,/g, ' '),
      ...(challenge === undefined ? {} : { codeChallenge: challenge }),
      ...(nonce === undefined ? {} : { nonce }),
      extra,
    });
    back.searchParams.set('code', code);
    return raw(302, '', { location: back.href });
  }

  async function token(profile: SandboxProfile, request: SandboxRequest): Promise<Reply | RawReply> {
    const behaviour = behaviourOf(profile.id);
    const fields = formOrJson(request);
    const expectedType = profile.bodyFormat === 'json' ? 'application/json' : 'application/x-www-form-urlencoded';
    if (!(request.headers['content-type'] ?? '').startsWith(expectedType)) return profile.error('invalid_request', 'token');
    const client = authenticate(profile, request, fields);
    if (!client) return { ...profile.error('invalid_client', 'token'), status: profile.error('invalid_client', 'token').status === 200 ? 200 : 401 };
    for (const [name, value] of Object.entries(profile.requiredTokenParams ?? {})) {
      if (fields[name] !== value) return profile.error('invalid_request', 'token');
    }
    const operation = fields.grant_type === 'refresh_token' ? 'refresh' : 'token';
    let grant: { account: string; scope: string; extra: Readonly<Record<string, string>>; nonce?: string };
    // A code or refresh token works only at the authority (tenant, login host) that issued it.
    const sameAuthority = (extra: Readonly<Record<string, string>>) => Object.entries(request.params).every(([name, value]) => extra[name] === value);
    if (fields.grant_type === 'client_credentials') {
      const app = profile.clientCredentials;
      if (!app) return profile.error('unsupported_grant_type', 'token');
      const refused = app.refuse(request.params, fields);
      if (refused) return refused;
      return issue(profile, client, { account: app.account, scope: fields.scope ?? '', extra: { ...request.params } }, 'client_credentials');
    }
    if (fields.grant_type === 'authorization_code' || (profile.id.startsWith('github') && fields.grant_type === undefined)) {
      const code = state.codes.get(fields.code ?? '');
      state.codes.delete(fields.code ?? ''); // single use, even when the exchange fails
      if (!code || code.clientId !== client.clientId || code.redirectUri !== fields.redirect_uri || !sameAuthority(code.extra)) return profile.error('invalid_grant', 'token');
      if (fields.code_verifier !== undefined) recordSecret('sandbox:code_verifier_received', fields.code_verifier);
      if (code.codeChallenge !== undefined) {
        const verifier = fields.code_verifier ?? '';
        const computed = createHash('sha256').update(verifier).digest('base64url');
        if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier) || computed !== code.codeChallenge) return profile.error('invalid_grant', 'token');
      } else if (fields.code_verifier !== undefined) {
        return profile.error('invalid_request', 'token');
      }
      grant = code;
    } else if (fields.grant_type === 'refresh_token') {
      const presented = fields.refresh_token ?? '';
      const existing = state.refreshTokens.get(presented) ?? withinGrace(behaviour, presented);
      if (!existing || existing.clientId !== client.clientId || !sameAuthority(existing.extra)) return profile.error('invalid_grant', 'refresh');
      if (behaviour.rotateRefreshTokens && behaviour.invalidateRotatedRefreshTokens && state.refreshTokens.delete(presented)) {
        state.rotatedOut.set(presented, { grant: existing, atMs: Date.now() });
      }
      return issue(profile, client, existing, 'refresh_token', state.refreshFamilies.get(presented));
    } else {
      return profile.error('unsupported_grant_type', 'token');
    }
    return issue(profile, client, grant, operation === 'refresh' ? 'refresh_token' : 'authorization_code');
  }

  /** A rotated-out refresh token still inside the grace; past it, a reuse (which revokes the grant where detection is on). */
  function withinGrace(behaviour: ProviderBehaviour, presented: string) {
    const rotated = state.rotatedOut.get(presented);
    if (rotated === undefined) return undefined;
    if (Date.now() - rotated.atMs < behaviour.refreshTokenGraceSeconds * 1000) return rotated.grant;
    const family = state.refreshFamilies.get(presented);
    if (behaviour.revokeGrantOnReuse && family !== undefined) state.revokeFamily(family);
    return undefined;
  }

  async function issue(
    profile: SandboxProfile,
    client: RegisteredClient,
    grant: { account: string; scope: string; extra: Readonly<Record<string, string>>; nonce?: string },
    grantType: 'authorization_code' | 'refresh_token' | 'client_credentials',
    family?: string,
  ): Promise<Reply | RawReply> {
    const behaviour = behaviourOf(profile.id);
    const accessToken = state.secret(profile.tokenPrefix);
    const nowMs = Date.now();
    const lifetime = behaviour.tokenLifetimeSeconds;
    state.accessTokens.set(accessToken, { provider: profile.id, clientId: client.clientId, account: grant.account, scope: grant.scope, extra: grant.extra, expiresAtMs: lifetime === null ? null : nowMs + lifetime * 1000 });
    let refreshToken: string | undefined;
    const issuesRefresh = profile.issuesRefreshTokens && grantType !== 'client_credentials';
    if (issuesRefresh && (grantType === 'authorization_code' || behaviour.rotateRefreshTokens)) {
      refreshToken = state.secret(`sbxrt_${profile.id}_`);
      state.refreshTokens.set(refreshToken, { provider: profile.id, clientId: client.clientId, account: grant.account, scope: grant.scope, extra: grant.extra });
      state.refreshFamilies.set(refreshToken, family ?? refreshToken);
    }
    const idToken =
      profile.idToken && grantType !== 'client_credentials'
        ? await signIdToken(
            profile.idToken.issuer(grant.extra, grant.account),
            profile.idToken.claims?.(grant.extra, grant.account) ?? {},
            client.clientId,
            grant.account,
            grant.nonce,
            Math.floor(nowMs / 1000),
            privateKey,
          )
        : undefined;
    const reply = grantType === 'client_credentials' ? profile.clientCredentials?.tokenBody : profile.tokenBody;
    if (!reply) throw new TypeError('unreachable: client credentials are checked before issuing');
    return reply({
      grant: grantType,
      accessToken,
      ...(refreshToken === undefined ? {} : { refreshToken }),
      ...(lifetime === null ? {} : { expiresIn: lifetime }),
      scope: grant.scope,
      account: grant.account,
      clientId: client.clientId,
      extra: grant.extra,
      ...(idToken === undefined ? {} : { idToken }),
    });
  }

  function bearerGrant(request: SandboxRequest) {
    const header = request.headers.authorization ?? '';
    const value = header.startsWith('Bearer ') ? header.slice(7) : undefined;
    const grant = value === undefined ? undefined : state.accessTokens.get(value);
    if (!grant || (grant.expiresAtMs !== null && grant.expiresAtMs < Date.now())) return undefined;
    return { ...grant, token: value as string };
  }

  function revokeTokenFamily(tokenValue: string): boolean {
    const access = state.accessTokens.get(tokenValue);
    const refresh = state.refreshTokens.get(tokenValue);
    const target = access ?? refresh;
    if (!target) return false;
    state.revokedGrants.push({ provider: target.provider, account: target.account });
    // Revoking either token ends the whole grant, as Google, Salesforce and Dropbox document.
    for (const [key, grant] of state.accessTokens) if (grant.account === target.account && grant.provider === target.provider) state.accessTokens.delete(key);
    for (const [key, grant] of state.refreshTokens) if (grant.account === target.account && grant.provider === target.provider) state.refreshTokens.delete(key);
    return true;
  }

  function revoke(profile: SandboxProfile, request: SandboxRequest): Reply | RawReply {
    const style = profile.revoke?.style;
    if (style === 'bearer') {
      const grant = bearerGrant(request);
      if (!grant) return profile.identityError?.() ?? { status: 401, body: { error: 'invalid_access_token' } };
      revokeTokenFamily(grant.token);
      return { status: 200, body: profile.id === 'slack' ? { ok: true, revoked: true } : null };
    }
    const client = clientFor(profile.id);
    if (style === 'github' || style === 'notion-json') {
      const credentials = basicCredentials(request.headers.authorization);
      if (!client || !credentials || credentials.id !== client.clientId || !same(credentials.secret, client.clientSecret)) return { status: 401, body: { message: 'Bad credentials' } };
      if (style === 'github' && request.url.pathname !== `/applications/${client.clientId}/token`) return { status: 404, body: { message: 'Not Found' } };
      const fields = formOrJson(request);
      const tokenValue = style === 'github' ? fields.access_token : fields.token;
      if (!tokenValue || !revokeTokenFamily(tokenValue)) return style === 'github' ? { status: 404, body: { message: 'Not Found' } } : { status: 400, body: { error: 'invalid_grant' } };
      return style === 'github' ? raw(204, '') : { status: 200, body: { request_id: 'req-2' } };
    }
    const fields = formOrJson(request);
    const clientAuth = profile.revoke?.clientAuth ?? (profile.clientAuth === 'basic' || profile.id === 'zoom' ? 'basic' : profile.id === 'hubspot' || profile.id === 'asana' ? 'post' : 'none');
    if (clientAuth === 'basic') {
      const credentials = basicCredentials(request.headers.authorization);
      if (!client || !credentials || credentials.id !== client.clientId || !same(credentials.secret, client.clientSecret)) return { status: 401, body: { error: 'invalid_client' } };
    } else if (clientAuth === 'post') {
      if (!client || fields.client_id !== client.clientId || !same(fields.client_secret, client.clientSecret)) return { status: 401, body: { error: 'invalid_client' } };
    }
    if (!fields.token) return { status: 400, body: { error: 'invalid_request' } };
    revokeTokenFamily(fields.token);
    // RFC 7009 §2.2: an unknown token is answered 200 as well.
    return { status: 200, body: {} };
  }

  function verifyOAuth1(request: SandboxRequest, tokenSecret: string | undefined): Record<string, string> | undefined {
    const params = parseOAuth1AuthorizationHeader(request.headers.authorization ?? '');
    const client = clientFor('trello');
    if (!params || !client || params.oauth_consumer_key !== client.clientId || params.oauth_signature_method !== 'HMAC-SHA1') return undefined;
    const { oauth_signature: signature, ...oauthParams } = params;
    const expected = hmacSha1Signature({
      method: request.method,
      url: request.url.href,
      oauthParams,
      consumerSecret: client.clientSecret,
      ...(tokenSecret === undefined ? {} : { tokenSecret }),
    });
    return signature !== undefined && same(signature, expected) ? params : undefined;
  }

  function trelloRequestToken(request: SandboxRequest): RawReply {
    const params = verifyOAuth1(request, undefined);
    if (!params || !params.oauth_callback) return raw(401, 'invalid signature');
    const requestToken = state.secret('sbxreq_trello_');
    const secret = state.secret('sbxreqsecret_trello_');
    state.requestTokens.set(requestToken, { clientId: params.oauth_consumer_key as string, secret, callback: params.oauth_callback });
    return raw(200, new URLSearchParams({ oauth_token: requestToken, oauth_token_secret: secret, oauth_callback_confirmed: 'true' }).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
    });
  }

  function trelloAuthorize(request: SandboxRequest): RawReply {
    const q = request.url.searchParams;
    const pending = state.requestTokens.get(q.get('oauth_token') ?? '');
    if (!pending) return raw(400, 'unknown request token');
    const back = new URL(pending.callback);
    back.searchParams.set('oauth_token', q.get('oauth_token') as string);
    if (q.get('sandbox_decision') === 'deny') return raw(302, '', { location: back.href });
    const verifier = state.secret('sbxverifier_');
    pending.verifier = verifier;
    pending.account = q.get('sandbox_account') ?? 'alice';
    back.searchParams.set('oauth_verifier', verifier);
    return raw(302, '', { location: back.href });
  }

  function trelloAccessToken(request: SandboxRequest): RawReply {
    const header = parseOAuth1AuthorizationHeader(request.headers.authorization ?? '');
    const pending = state.requestTokens.get(header?.oauth_token ?? '');
    if (!pending) return raw(401, 'invalid token');
    const params = verifyOAuth1(request, pending.secret);
    if (!params || !pending.verifier || params.oauth_verifier !== pending.verifier) return raw(401, 'invalid signature');
    state.requestTokens.delete(header?.oauth_token ?? '');
    const accessToken = state.secret('sbxtrello_');
    const secret = state.secret('sbxtrellosecret_');
    state.accessTokens.set(accessToken, { provider: 'trello', clientId: pending.clientId, account: pending.account ?? 'alice', scope: 'read', extra: {}, expiresAtMs: null });
    return raw(200, new URLSearchParams({ oauth_token: accessToken, oauth_token_secret: secret }).toString(), { 'content-type': 'application/x-www-form-urlencoded' });
  }

  let origin = '';
  const routedPath = (productionUrl: URL) => `${origin}/${productionUrl.host}${productionUrl.pathname}${productionUrl.search}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const local = new URL(req.url ?? '/', origin);
    if (local.pathname.startsWith('/__admin')) return admin(local, req.method ?? 'GET', body, res);
    const [, host, ...rest] = local.pathname.split('/');
    const production = new URL(`https://${host}/${rest.join('/')}${local.search}`);
    const key = `${production.host}${production.pathname}`;
    const matching = routes.filter((candidate) => candidate.pattern.test(key));
    const entry = pickEntry(matching, { method: req.method ?? 'GET', url: production, headers: req.headers, body, params: {} });
    if (!entry) return send(res, raw(404, 'no such sandbox route'));
    const params = Object.fromEntries(Object.entries(entry.pattern.exec(key)?.groups ?? {}).map(([name, value]) => [name, decodeURIComponent(value)]));
    const request: SandboxRequest = { method: req.method ?? 'GET', url: production, headers: req.headers, body, params };
    const endpoint = entry.endpoint === 'token' ? tokenEndpointKind(formOrJson(request).grant_type) : entry.endpoint;
    // Counted before latency and faults: a test asserting "exactly one refresh call" sees failed attempts too.
    state.count(entry.provider, endpoint);
    const profile = profiles.find((p) => p.id === entry.provider);
    const behaviour = behaviourOf(entry.provider);
    if (behaviour.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, behaviour.latencyMs));
    const fault = state.takeFault(behaviour, endpoint);
    if (fault?.kind === 'hang') return; // never answers; the client's timeout must fire
    if (fault?.kind === 'stall') {
      const reply = await entry.handler(request);
      await new Promise((resolve) => setTimeout(resolve, fault.ms));
      return send(res, reply);
    }
    if (fault?.kind === 'status') return send(res, raw(fault.status, '{"error":"sandbox_fault"}', { 'content-type': 'application/json', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) }));
    if (fault?.kind === 'malformed') return send(res, raw(200, '<html>not what you expected', { 'content-type': 'application/json' }));
    if (fault?.kind === 'invalid_grant') return send(res, deadGrantReply(profile, endpoint));
    if (fault?.kind === 'oversized') return streamOversized(res, fault.bytes);
    return send(res, await entry.handler(request));
  }

  /** What the provider answers when the grant behind a call is dead, in that provider's own shape. */
  function deadGrantReply(profile: SandboxProfile | undefined, endpoint: SandboxEndpoint): Reply | RawReply {
    if (!profile) return raw(401, 'invalid token');
    if (endpoint === 'identity' || endpoint === 'revoke') return profile.identityError?.() ?? { status: 401, body: { error: 'invalid_token' } };
    return profile.error('invalid_grant', endpoint === 'refresh' ? 'refresh' : 'token');
  }

  /** Among providers sharing a URL, the one whose registered client (or issued token) the request names. */
  function pickEntry(entries: readonly RouteEntry[], request: SandboxRequest): RouteEntry | undefined {
    if (entries.length <= 1) return entries[0];
    const fields = formOrJson(request);
    const named = new Set<string>(
      [
        request.url.searchParams.get('client_id'),
        fields.client_id,
        basicCredentials(request.headers.authorization)?.id,
        request.url.pathname.split('/')[2],
      ].filter((v): v is string => typeof v === 'string'),
    );
    const bearer = bearerGrant(request);
    const refresh = state.refreshTokens.get(fields.refresh_token ?? '');
    const code = state.codes.get(fields.code ?? '');
    return (
      entries.find((entry) => {
        const client = state.clients.get(entry.provider);
        return (client && named.has(client.clientId)) || bearer?.provider === entry.provider || refresh?.provider === entry.provider || code?.provider === entry.provider;
      }) ?? entries[0]
    );
  }

  function admin(url: URL, method: string, body: string, res: ServerResponse): void {
    const [, , action, provider, extra] = url.pathname.split('/');
    if (action === 'reset' && method === 'POST') {
      api.reset();
      return send(res, { status: 200, body: { ok: true } });
    }
    if (action === 'calls' && provider === 'reset' && method === 'POST') {
      api.resetCalls();
      return send(res, { status: 200, body: { ok: true } });
    }
    if (action === 'calls' && provider === undefined && method === 'GET') return send(res, { status: 200, body: api.callCounts() });
    if (action === 'revocations' && provider === undefined && method === 'GET') return send(res, { status: 200, body: state.revokedGrants });
    if (action === 'providers' && provider && extra === 'api-keys' && method === 'POST') {
      const input = z.object({ account: z.string().regex(/^[a-z0-9_-]{1,40}$/).optional() }).strict().safeParse(safeJson(body));
      if (!input.success) return send(res, { status: 400, body: { error: 'invalid admin body' } });
      const profile = profiles.find((p) => p.id === provider);
      if (!profile?.apiKey) return send(res, { status: 404, body: { error: 'this provider has no API keys' } });
      return send(res, { status: 200, body: { apiKey: api.issueApiKey(provider, input.data.account) } });
    }
    if (action === 'providers' && provider && extra === undefined && method === 'POST') {
      if (!allProviders.includes(provider)) return send(res, { status: 404, body: { error: 'unknown provider' } });
      let json: unknown;
      try {
        json = JSON.parse(body || '{}');
      } catch {
        return send(res, { status: 400, body: { error: 'body must be JSON' } });
      }
      const input = adminProviderBodySchema.safeParse(json);
      if (!input.success) return send(res, { status: 400, body: { error: 'invalid admin body', issues: input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) } });
      const { faults, failNext, ...settings } = input.data;
      api.configure(provider, settings);
      for (const [endpoint, fault] of Object.entries(faults ?? {}) as [SandboxEndpoint, SandboxFault | null][]) {
        api.injectFault(provider, endpoint, fault ?? undefined);
      }
      for (const armed of failNext ?? []) api.failNext(provider, armed.endpoint, armed.fault, armed.count);
      return send(res, { status: 200, body: { ok: true } });
    }
    return send(res, { status: 404, body: { error: 'unknown admin call' } });
  }

  /** Streams `bytes` of JSON from one reused buffer, at the pace the reader takes them, until done or hung up on. */
  async function streamOversized(res: ServerResponse, bytes: number): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.write('{"access_token":"');
    if (await streamFiller(res, bytes)) res.end('"}');
  }

  /** Streams `bytes` of filler as the whole body, with its length announced. */
  async function streamBytes(res: ServerResponse, bytes: number, contentType: string): Promise<void> {
    res.writeHead(200, { 'content-type': contentType, 'content-length': String(bytes) });
    if (await streamFiller(res, bytes)) res.end();
  }

  /** Writes `bytes` from one reused buffer at the reader's pace; false when the reader hung up first. */
  async function streamFiller(res: ServerResponse, bytes: number): Promise<boolean> {
    const filler = Buffer.alloc(64 * 1024, 'a');
    const drainedOrClosed = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done).off('close', done);
          resolve();
        };
        res.on('drain', done).on('close', done);
      });
    let hungUp = false;
    res.once('close', () => {
      hungUp = true;
    });
    for (let left = bytes; left > 0 && !hungUp; left -= filler.length) {
      const chunk = left >= filler.length ? filler : filler.subarray(0, left);
      if (!res.write(chunk) && !hungUp) await drainedOrClosed();
    }
    return !hungUp;
  }

  function send(res: ServerResponse, reply: Reply | RawReply): void {
    if ('raw' in reply) {
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
      return;
    }
    if (reply.form) {
      const fields = Object.fromEntries(Object.entries(reply.body as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      res.writeHead(reply.status, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
      res.end(new URLSearchParams(fields).toString());
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(reply.body === null ? 'null' : JSON.stringify(reply.body));
  }

  /** Drive-like media upload and download (provider-apis.ts), read and written as streams; false for any other route. */
  function streamedApi(req: IncomingMessage, res: ServerResponse): boolean {
    const local = new URL(req.url ?? '/', origin);
    const [, host, ...rest] = local.pathname.split('/');
    const production = new URL(`https://${host}/${rest.join('/')}${local.search}`);
    const href = `${production.origin}${production.pathname}`;
    const upload = req.method === 'POST' && href === streamingApi.upload;
    const size = href.startsWith(streamingApi.downloadPrefix) ? /^(\d{1,10})-bytes$/.exec(href.slice(streamingApi.downloadPrefix.length))?.[1] : undefined;
    const download = req.method === 'GET' && size !== undefined && production.searchParams.get('alt') === 'media';
    if (!upload && !download) return false;
    const request: SandboxRequest = { method: req.method ?? 'GET', url: production, headers: req.headers, body: '', params: {} };
    state.count(streamingApi.provider, 'api');
    const grant = bearerGrant(request);
    const valid = grant !== undefined && grant.provider === streamingApi.provider;
    noteApiRequest(streamingApi.provider, request, valid);
    if (!valid) {
      req.resume();
      send(res, { status: 401, body: { error: { code: 401, status: 'UNAUTHENTICATED' } } });
      return true;
    }
    if (upload) {
      const digest = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        digest.update(chunk);
      });
      req.once('end', () => send(res, { status: 200, body: { kind: 'drive#file', size: String(bytes), sha256Checksum: digest.digest('hex') } }));
      return true;
    }
    void streamBytes(res, Number(size), 'application/octet-stream');
    return true;
  }

  const server: Server = createServer((req, res) => {
    if (streamedApi(req, res)) return;
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A function redirecting a browser here is sending it to "the provider": the leak check lets that redirect carry the state.
  noteProviderOrigin(origin);
  const originOverrides = Object.fromEntries([...fixedHosts].map((host) => [`https://${host}`, `${origin}/${host}`]));

  const api: ProviderSandbox = {
    origin,
    originOverrides,
    endpointAllowlist: SANDBOX_ENDPOINT_ALLOWLIST,
    registerClient: (provider, client) => {
      state.clients.set(provider, client);
    },
    configure: (provider, input) => {
      const settings = providerSettingsSchema.parse(input);
      const behaviour = behaviourOf(knownProvider(provider));
      if (settings.tokenLifetimeSeconds !== undefined) behaviour.tokenLifetimeSeconds = settings.tokenLifetimeSeconds;
      if (settings.rotateRefreshTokens !== undefined) behaviour.rotateRefreshTokens = settings.rotateRefreshTokens;
      if (settings.invalidateRotatedRefreshTokens !== undefined) behaviour.invalidateRotatedRefreshTokens = settings.invalidateRotatedRefreshTokens;
      if (settings.refreshTokenGraceSeconds !== undefined) behaviour.refreshTokenGraceSeconds = settings.refreshTokenGraceSeconds;
      if (settings.revokeGrantOnReuse !== undefined) behaviour.revokeGrantOnReuse = settings.revokeGrantOnReuse;
      if (settings.latencyMs !== undefined) behaviour.latencyMs = settings.latencyMs;
    },
    injectFault: (provider, endpoint, fault) => {
      const behaviour = behaviourOf(knownProvider(provider));
      if (fault === undefined) behaviour.faults.delete(endpoint);
      else behaviour.faults.set(endpoint, sandboxFaultSchema.parse(fault));
    },
    failNext: (provider, endpoint, fault, count = 1) => {
      if (!Number.isInteger(count) || count < 1) throw new TypeError('count must be a positive integer');
      state.armFault(behaviourOf(knownProvider(provider)), endpoint, sandboxFaultSchema.parse(fault), count);
    },
    issueApiKey: (provider, account = 'alice') => {
      const format = profiles.find((p) => p.id === provider)?.apiKey;
      if (!format) throw new TypeError(`the sandbox's ${provider} has no API keys`);
      const apiKey = format(randomBytes(16).toString('hex'));
      state.secrets.push(apiKey);
      recordSecret('sandbox:api_key', apiKey);
      state.accessTokens.set(apiKey, { provider, clientId: '', account, scope: '', extra: {}, expiresAtMs: null });
      return apiKey;
    },
    apiRequests: () => [...apiRequests],
    calls: (provider, endpoint) => state.calls.get(`${provider}.${endpoint}`) ?? 0,
    callCounts: () => Object.fromEntries(state.calls),
    resetCalls: () => {
      state.calls.clear();
      apiRequests.length = 0;
    },
    revokedGrants: (provider) => state.revokedGrants.filter((grant) => grant.provider === provider).map((grant) => grant.account),
    issuedSecrets: () => [...state.secrets],
    reset: () => state.reset(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        forgetProviderOrigin(origin);
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
  return api;
}

/** Which grant a token-endpoint call is, so refreshes and app-only grants are counted (and failed) on their own. */
function tokenEndpointKind(grantType: string | undefined): SandboxEndpoint {
  if (grantType === 'refresh_token') return 'refresh';
  if (grantType === 'client_credentials' || grantType === 'account_credentials') return 'client_credentials';
  return 'token';
}

function safeJson(body: string): unknown {
  try {
    return JSON.parse(body || '{}');
  } catch {
    return undefined;
  }
}


function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
