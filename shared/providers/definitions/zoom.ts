// Zoom (user-authorized apps): Basic client auth, 1-hour tokens, refresh tokens that rotate on every use.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

export const zoom = defineProvider({
  id: 'zoom',
  displayName: 'Zoom',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: { authorization: 'https://zoom.us/oauth/authorize', token: 'https://zoom.us/oauth/token' },
  // Scopes are configured on the Zoom app; the request carries none (separator unconfirmed, so nothing is sent).
  scopes: { separator: null, defaults: [], allowed: { kind: 'none' } },
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_basic',
  // The proxy's destination. Zoom's REST API base is https://api.zoom.us/v2 (https://developers.zoom.us/docs/api/).
  api: { baseUrl: 'https://api.zoom.us/v2' },
  tokenRequest: { bodyFormat: 'form' },
  refresh: { supported: true, rotates: 'always', deadGrantErrors: ['invalid_grant', 'invalid_request'] },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 3600 },
  revocation: {
    kind: 'rfc7009',
    url: 'https://zoom.us/oauth/revoke',
    token: 'access_token',
    sendTokenTypeHint: false,
    clientAuthentication: 'client_secret_basic',
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'me', request: { method: 'GET', url: 'https://api.zoom.us/v2/users/me', bearer: 'access_token' } }],
    parse: ({ me }) => {
      const user = z.object({ id: z.string(), email: z.string().optional(), account_id: z.string().optional() }).loose().parse(me);
      return { accountId: user.id, ...(user.email ? { displayName: user.email } : {}), metadata: user.account_id ? { zoomAccountId: user.account_id } : {} };
    },
  },
  metadataKeys: ['zoomAccountId'],
  decisions: [
    'Scope separator unconfirmed: scopes live on the app registration, so the broker sends no scope parameter.',
    'Revoke: POST token=<access token> with HTTP Basic (endpoint confirmed, parameters per Zoom\'s OAuth page).',
    'A dead refresh token is answered 400 with error invalid_grant ("Invalid Token!"); exact body unconfirmed.',
    'Server-to-Server OAuth (grant_type=account_credentials with account_id) is not declared as clientCredentials here: it needs a separate Server-to-Server app with its own client id and secret, while a provider id has one registered client (PROVIDER_ZOOM_CLIENT_ID). It would be a provider of its own.',
  ],
});
