// HubSpot: 30-minute access tokens, static refresh tokens, hub id as the account (2026-03 token API).
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

export const hubspot = defineProvider({
  id: 'hubspot',
  displayName: 'HubSpot',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: { authorization: 'https://app.hubspot.com/oauth/authorize', token: 'https://api.hubapi.com/oauth/2026-03/token' },
  scopes: { separator: ' ', defaults: ['oauth'], allowed: { kind: 'pattern', pattern: /[a-z][a-z0-9_.-]*/ } },
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_post',
  // The proxy's destination. HubSpot's APIs are on https://api.hubapi.com (https://developers.hubspot.com/docs/api/overview).
  api: { baseUrl: 'https://api.hubapi.com' },
  tokenRequest: { bodyFormat: 'form' },
  refresh: { supported: true, rotates: 'never', deadGrantErrors: ['invalid_grant', 'BAD_REFRESH_TOKEN'] },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 1800 },
  revocation: {
    kind: 'rfc7009',
    url: 'https://api.hubapi.com/oauth/2026-03/token/revoke',
    token: 'refresh_token_else_access_token',
    sendTokenTypeHint: true,
    clientAuthentication: 'client_secret_post',
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'account', request: { method: 'GET', url: 'https://api.hubapi.com/account-info/2026-03/details', bearer: 'access_token' } }],
    parse: ({ account }) => {
      const details = z.object({ portalId: z.number(), uiDomain: z.string().optional() }).loose().parse(account);
      return { accountId: String(details.portalId), metadata: { hubId: String(details.portalId) } };
    },
  },
  // Private app access tokens: "Authorization: Bearer pat-na1-...", valid until rotated or the app is deleted.
  apiKey: {
    label: 'private app access token',
    format: /pat-[a-z]{2,4}\d{0,2}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/,
    placement: 'bearer',
    healthCheckEverySeconds: 6 * 3600,
  },
  metadataKeys: ['hubId'],
  decisions: [
    'Identity: GET /account-info/2026-03/details (portalId), the version matching the 2026-03 token API; the account information API serves OAuth tokens and legacy private apps alike — https://developers.hubspot.com/docs/api-reference/latest/account/account-information/guide.md. It is also the API-key identity check.',
    'Refresh tokens are not documented as rotating: declared never; a reply with a new one would still be stored.',
    'Revocation (verified): POST /oauth/2026-03/token/revoke, form body client_id, client_secret, token, token_type_hint — https://developers.hubspot.com/docs/api-reference/latest/authentication/oauth-tokens/revoke-token.',
    'PKCE: the token endpoint accepts code_verifier; S256 is assumed.',
  ],
});
