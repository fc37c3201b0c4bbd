// Asana: 1-hour access tokens, static refresh tokens, the user described in the token reply.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

export const asana = defineProvider({
  id: 'asana',
  displayName: 'Asana',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: { authorization: 'https://app.asana.com/-/oauth_authorize', token: 'https://app.asana.com/-/oauth_token' },
  scopes: { separator: ' ', defaults: ['default'], allowed: { kind: 'pattern', pattern: /default|openid|email|profile|[a-z_]+:(read|write|delete)/ } },
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_post',
  // The proxy's destination. Asana's REST API base is https://app.asana.com/api/1.0 (https://developers.asana.com/reference/rest-api-reference).
  api: { baseUrl: 'https://app.asana.com/api/1.0' },
  tokenRequest: { bodyFormat: 'form' },
  refresh: { supported: true, rotates: 'never', deadGrantErrors: ['invalid_grant'] },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 3600 },
  revocation: {
    kind: 'rfc7009',
    url: 'https://app.asana.com/-/oauth_revoke',
    token: 'refresh_token_else_access_token',
    sendTokenTypeHint: false,
    clientAuthentication: 'client_secret_post',
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'me', request: { method: 'GET', url: 'https://app.asana.com/api/1.0/users/me', bearer: 'access_token' } }],
    parse: ({ me }) => {
      const user = z.object({ data: z.object({ gid: z.string(), email: z.string().optional(), name: z.string().optional() }).loose() }).parse(me).data;
      const displayName = user.email ?? user.name;
      return { accountId: user.gid, ...(displayName ? { displayName } : {}) };
    },
  },
  decisions: [
    'Revocation endpoint (verified): POST https://app.asana.com/-/oauth_revoke — https://developers.asana.com/docs/oauth. Its parameters (client_id, client_secret, token=refresh token) were not in the retrieved excerpt and stay unconfirmed.',
    'Refresh tokens are not documented as rotating; the dead-grant error is assumed to be invalid_grant.',
  ],
});
