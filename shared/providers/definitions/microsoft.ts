// Microsoft identity platform v2.0 (Graph: Outlook, Teams): tenant per connection, offline_access, rotating refresh tokens.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const tenant = z
  .string()
  .regex(/^(common|organizations|consumers|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9-]+(\.[a-z0-9-]+)+)$/i)
  .transform((value) => value.toLowerCase());
// App-only connections act in one directory, named by its id so the connection's account never changes.
const tenantId = z.string().regex(guidPattern).transform((value) => value.toLowerCase());

/** The tenant of every personal Microsoft account (documented in the id_token reference). */
export const MICROSOFT_CONSUMER_TENANT_ID = '9188040d-6c67-4c5b-b112-36a304b66dad';

/**
 * The issuer an id_token must carry, given the tenant the connection was made through: a tenant id pins it;
 * consumers means the personal-account tenant; organizations refuses personal accounts; common and verified
 * domains take the user's own tenant (tid), which then pins the connection through metadata.
 */
function expectedIssuer(claims: Readonly<Record<string, unknown>>, config: Readonly<Record<string, string>>): string {
  const configured = config.tenant ?? 'common';
  const tid = typeof claims.tid === 'string' ? claims.tid.toLowerCase() : 'missing-tid';
  const issuerOf = (id: string) => `https://login.microsoftonline.com/${id}/v2.0`;
  if (guidPattern.test(configured)) return issuerOf(configured);
  if (configured === 'consumers') return issuerOf(MICROSOFT_CONSUMER_TENANT_ID);
  if (configured === 'organizations' && tid === MICROSOFT_CONSUMER_TENANT_ID) return issuerOf('organizations');
  return issuerOf(tid);
}

export const microsoft = defineProvider({
  id: 'microsoft',
  displayName: 'Microsoft',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({ tenant: tenant.default('common') }).strict(),
  endpoints: {
    authorization: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize',
    token: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
  },
  scopes: {
    separator: ' ',
    // offline_access: no refresh token without it.
    defaults: ['openid', 'profile', 'email', 'offline_access', 'User.Read'],
    allowed: { kind: 'pattern', pattern: /openid|profile|email|offline_access|[A-Z][A-Za-z]+(?:\.[A-Za-z]+)+|https:\/\/graph\.microsoft\.com\/\.default/ },
  },
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_post',
  // The proxy's destination. Microsoft Graph is https://graph.microsoft.com/{version}/{resource} (https://learn.microsoft.com/en-us/graph/use-the-api).
  api: { baseUrl: 'https://graph.microsoft.com' },
  tokenRequest: {
    bodyFormat: 'form',
    readReply: (body) => {
      const idToken = z.object({ id_token: z.string().optional() }).loose().parse(body).id_token;
      const payload = idToken?.split('.')[1];
      if (payload === undefined) return {};
      const tid = z.object({ tid: z.string().optional() }).loose().safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      return { metadata: tid.success && tid.data.tid ? { tenantId: tid.data.tid } : {} };
    },
  },
  authorizationParams: { response_mode: 'query' },
  idToken: 'expected',
  issuer: {
    expected: 'https://login.microsoftonline.com/{tenant}/v2.0',
    authorizationResponseIss: 'never',
    // With common/organizations the id_token names the user's own tenant; its issuer is that tenant's.
    idTokenIssuer: expectedIssuer,
  },
  refresh: { supported: true, rotates: 'always', deadGrantErrors: ['invalid_grant'], sendScope: true },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 3600 },
  revocation: {
    kind: 'none',
    reason: 'Microsoft has no RFC 7009 endpoint; revokeSignInSessions would sign the user out of every app, so disconnect only destroys the stored grant.',
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'me', request: { method: 'GET', url: 'https://graph.microsoft.com/v1.0/me', bearer: 'access_token' } }],
    parse: ({ me }) => {
      const user = z
        .object({ id: z.string(), displayName: z.string().nullable().optional(), userPrincipalName: z.string().nullable().optional(), mail: z.string().nullable().optional() })
        .loose()
        .parse(me);
      const displayName = user.mail ?? user.userPrincipalName ?? user.displayName ?? undefined;
      return { accountId: user.id, ...(displayName ? { displayName } : {}) };
    },
  },
  clientCredentials: {
    connectionConfigSchema: z.object({ tenant: tenantId }).strict(),
    clientAuthentication: 'client_secret_post',
    // One resource per request, and only its /.default: the app's admin-consented application permissions.
    scopes: { defaults: ['https://graph.microsoft.com/.default'], allowed: { kind: 'list', values: ['https://graph.microsoft.com/.default'] } },
    account: { kind: 'connection-config', template: '{tenant}' },
    metadata: { tenantId: '{tenant}' },
  },
  metadataKeys: ['tenantId'],
  decisions: [
    'Client credentials: POST /{tenant}/oauth2/v2.0/token with scope=https://graph.microsoft.com/.default; "Client credential flows must have a scope value with /.default suffixed" (AADSTS1002012) — https://docs.azure.cn/en-us/Entra/identity-platform/scenario-daemon-acquire-token. The tenant must be a directory id: common/organizations/consumers cannot issue app-only tokens, and a domain name would give the same tenant a second account id.',
    'Tenant pinning: a tenant-id connection accepts only id_tokens of that tenant, consumers only the personal-account tenant 9188040d-6c67-4c5b-b112-36a304b66dad, organizations refuses that tenant; common records the user\'s tid as tenantId.',
    'client_secret_basic acceptance on v2.0 is unconfirmed, so client_secret_post (documented) is used.',
    'Access token lifetime: clients are told to use the token response data rather than assume one (https://learn.microsoft.com/entra/identity-platform/access-tokens); expires_in is always sent, so the 60-90 minute range (unconfirmed) is never relied on, and 3600 s is only the fallback.',
    'Rotation: a new refresh token comes with every refresh and the old one is not revoked (providers-facts, learn.microsoft.com/entra/identity-platform/refresh-tokens); the newest is stored, and the sandbox keeps old ones alive by default.',
    'A connection made through common/organizations is pinned by the id_token tid claim (metadata tenantId).',
  ],
});
