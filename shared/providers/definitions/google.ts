// Google (Gmail, Drive, Calendar, YouTube): OpenID Connect, offline access only with access_type=offline.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

export const google = defineProvider({
  id: 'google',
  displayName: 'Google',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: { authorization: 'https://accounts.google.com/o/oauth2/v2/auth', token: 'https://oauth2.googleapis.com/token' },
  scopes: {
    separator: ' ',
    defaults: ['openid', 'email', 'profile'],
    allowed: { kind: 'pattern', pattern: /openid|email|profile|https:\/\/(?:www\.googleapis\.com\/auth\/[a-z0-9._-]+|mail\.google\.com\/)/ },
  },
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_post',
  tokenRequest: { bodyFormat: 'form' },
  // prompt=consent: Google issues a refresh token only on a fresh consent.
  authorizationParams: { access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true' },
  issuer: { expected: 'https://accounts.google.com', authorizationResponseIss: 'always' },
  idToken: 'expected',
  refresh: { supported: true, rotates: 'never', deadGrantErrors: ['invalid_grant'] },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 3600 },
  revocation: {
    kind: 'rfc7009',
    url: 'https://oauth2.googleapis.com/revoke',
    token: 'refresh_token_else_access_token',
    sendTokenTypeHint: false,
    clientAuthentication: 'none',
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'userinfo', request: { method: 'GET', url: 'https://openidconnect.googleapis.com/v1/userinfo', bearer: 'access_token' } }],
  },
  decisions: [
    'Google sends iss in authorization responses (authorization_response_iss_parameter_supported in its discovery document).',
    'Revocation sends no client credentials: Google documents the revoke call without them.',
  ],
  hooks: {
    parseIdentity: ({ userinfo }) => {
      const info = z.object({ sub: z.string(), email: z.string().optional(), name: z.string().optional() }).loose().parse(userinfo);
      const displayName = info.email ?? info.name;
      return { accountId: info.sub, ...(displayName ? { displayName } : {}) };
    },
  },
});
