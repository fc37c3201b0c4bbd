// Microsoft identity platform v2.0 (Graph: Outlook, Teams): tenant per connection, offline_access, rotating refresh tokens.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

const tenant = z.string().regex(/^(common|organizations|consumers|[0-9a-f-]{36}|[a-z0-9-]+(\.[a-z0-9-]+)+)$/i);

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
  tokenRequest: { bodyFormat: 'form' },
  authorizationParams: { response_mode: 'query' },
  idToken: 'expected',
  issuer: { expected: 'https://login.microsoftonline.com/{tenant}/v2.0', authorizationResponseIss: 'never' },
  refresh: { supported: true, rotates: 'always', deadGrantErrors: ['invalid_grant'], sendScope: true },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 3600 },
  revocation: {
    kind: 'none',
    reason: 'Microsoft has no RFC 7009 endpoint; revokeSignInSessions would sign the user out of every app, so disconnect only destroys the stored grant.',
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'me', request: { method: 'GET', url: 'https://graph.microsoft.com/v1.0/me', bearer: 'access_token' } }],
  },
  metadataKeys: ['tenantId'],
  decisions: [
    'client_secret_basic acceptance on v2.0 is unconfirmed, so client_secret_post (documented) is used.',
    'A connection made through common/organizations is pinned by the id_token tid claim (metadata tenantId).',
  ],
  hooks: {
    // With common/organizations the id_token names the user's own tenant; its issuer is that tenant's.
    expectedIdTokenIssuer: (claims) => `https://login.microsoftonline.com/${String(claims.tid)}/v2.0`,
    metadataFromTokenResponse: (body) => {
      const idToken = z.object({ id_token: z.string().optional() }).loose().parse(body).id_token;
      const payload = idToken?.split('.')[1];
      if (payload === undefined) return {};
      const tid = z.object({ tid: z.string().optional() }).loose().safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      return tid.success && tid.data.tid ? { tenantId: tid.data.tid } : {};
    },
    parseIdentity: ({ me }) => {
      const user = z
        .object({ id: z.string(), displayName: z.string().nullable().optional(), userPrincipalName: z.string().nullable().optional(), mail: z.string().nullable().optional() })
        .loose()
        .parse(me);
      const displayName = user.mail ?? user.userPrincipalName ?? user.displayName ?? undefined;
      return { accountId: user.id, ...(displayName ? { displayName } : {}) };
    },
  },
});
