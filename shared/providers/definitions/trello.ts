// Trello: OAuth 1.0a (HMAC-SHA1 signed), tokens that live until revoked (expiration=never), key+token API calls.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

export const trello = defineProvider({
  id: 'trello',
  displayName: 'Trello',
  protocol: 'oauth1a',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: {
    requestToken: 'https://trello.com/1/OAuthGetRequestToken',
    authorization: 'https://trello.com/1/OAuthAuthorizeToken',
    token: 'https://trello.com/1/OAuthGetAccessToken',
  },
  scopes: { separator: ',', defaults: ['read'], allowed: { kind: 'list', values: ['read', 'write', 'account'] } },
  pkce: { method: 'none', reason: 'Trello speaks OAuth 1.0a, which has no PKCE; every request is signed with HMAC-SHA1 instead.' },
  clientAuthentication: 'none',
  tokenRequest: { bodyFormat: 'form', responseFormat: 'form' },
  authorizationParams: { expiration: 'never', name: 'oauth-broker' },
  refresh: { supported: false, reason: 'OAuth 1.0a has no refresh: tokens last until revoked (expiration=never).' },
  whenNoExpiresIn: { kind: 'never-expires-until-revoked', healthCheckEverySeconds: 24 * 3600 },
  revocation: {
    kind: 'provider-call',
    token: 'access_token',
    request: { method: 'DELETE', url: 'https://api.trello.com/1/tokens/{token}?key={clientId}&token={token}', bearer: 'none' },
    alreadyRevokedStatuses: [401, 404],
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'me', request: { method: 'GET', url: 'https://api.trello.com/1/members/me?key={clientId}&token={token}', bearer: 'none' } }],
    parse: ({ me }) => {
      const member = z.object({ id: z.string(), username: z.string().optional() }).loose().parse(me);
      return { accountId: member.id, ...(member.username ? { displayName: member.username } : {}) };
    },
  },
  metadataKeys: [],
  decisions: [
    'Dead tokens (verified): a revoked token answers HTTP 401 with the plain-text body "invalid token" — https://developer.atlassian.com/cloud/trello/guides/rest-api/authorization/ ("Applications and Power-Ups should handle token revocation gracefully"). An expired token answers 401 "expired token" (reported by API users, not in Trello\'s docs; tokens here use expiration=never). The identity check maps any 401 to needs_reauth whatever the body, so neither text is parsed.',
    'Rate limits (verified): 300 requests per 10 s per API key, 100 per 10 s per token, and 100 per 900 s on /1/members/; a breach answers 429 with JSON error API_KEY_LIMIT_EXCEEDED or API_TOKEN_LIMIT_EXCEEDED and no Retry-After — https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits. The identity call is /1/members/me, so health checks stay daily; a 429 is provider_unavailable and retried with the broker\'s own backoff.',
  ],
});
