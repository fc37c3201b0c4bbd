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
    requests: [{ name: 'account', request: { method: 'GET', url: 'https://api.hubapi.com/account-info/v3/details', bearer: 'access_token' } }],
  },
  metadataKeys: ['hubId'],
  decisions: [
    'Refresh tokens are not documented as rotating: declared never; a reply with a new one would still be stored.',
    'The 2026-03 revoke endpoint is taken to be RFC 7009-shaped (token, token_type_hint, client credentials in the body), like its introspect sibling; details are unconfirmed.',
    'PKCE: the token endpoint accepts code_verifier; S256 is assumed.',
  ],
  hooks: {
    parseIdentity: ({ account }) => {
      const details = z.object({ portalId: z.number(), uiDomain: z.string().optional() }).loose().parse(account);
      return { accountId: String(details.portalId), metadata: { hubId: String(details.portalId) } };
    },
  },
});
