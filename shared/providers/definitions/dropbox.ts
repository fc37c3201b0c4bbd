// Dropbox: short-lived access tokens, long-lived refresh tokens only with token_access_type=offline.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

export const dropbox = defineProvider({
  id: 'dropbox',
  displayName: 'Dropbox',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: { authorization: 'https://www.dropbox.com/oauth2/authorize', token: 'https://api.dropboxapi.com/oauth2/token' },
  scopes: { separator: ' ', defaults: ['account_info.read'], allowed: { kind: 'pattern', pattern: /[a-z_]+\.[a-z_.]+|openid|email|profile/ } },
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_post',
  // The proxy's destination. Dropbox RPC endpoints are on https://api.dropboxapi.com; content upload/download endpoints are on content.dropboxapi.com, which this base does not reach (https://www.dropbox.com/developers/documentation/http/documentation).
  api: { baseUrl: 'https://api.dropboxapi.com' },
  tokenRequest: {
    bodyFormat: 'form',
    readReply: (body) => {
      const reply = z.object({ team_id: z.string().optional(), account_id: z.string().optional() }).loose().parse(body);
      return {
        metadata: reply.team_id ? { teamId: reply.team_id } : {},
        ...(reply.account_id ? { account: { accountId: reply.account_id } } : {}),
      };
    },
  },
  authorizationParams: { token_access_type: 'offline' },
  refresh: { supported: true, rotates: 'never', deadGrantErrors: ['invalid_grant'] },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 4 * 3600 },
  revocation: {
    kind: 'provider-call',
    token: 'access_token',
    request: { method: 'POST', url: 'https://api.dropboxapi.com/2/auth/token/revoke', bearer: 'access_token' },
    alreadyRevokedStatuses: [401],
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'account', request: { method: 'POST', url: 'https://api.dropboxapi.com/2/users/get_current_account', bearer: 'access_token' } }],
    parse: ({ account }) => {
      const info = z.object({ account_id: z.string(), email: z.string().optional(), name: z.object({ display_name: z.string() }).loose().optional() }).loose().parse(account);
      const displayName = info.email ?? info.name?.display_name;
      return { accountId: info.account_id, ...(displayName ? { displayName } : {}) };
    },
  },
  metadataKeys: ['teamId'],
  decisions: [
    'Client authentication (verified): /oauth2/token takes the app key and secret either as form parameters or as HTTP Basic (key as user name, secret as password) — https://www.dropbox.com/developers/documentation/http/documentation#oauth2-token, quoted verbatim in public clients. Both work; client_secret_post stays, as the sandbox and every test already prove it.',
    'PKCE: Dropbox\'s SDKs use S256 only and the plain method was not found in its documentation; the broker sends S256 (plain would weaken PKCE anyway).',
    'Rate limits: Dropbox documents 429 too_many_requests with a Retry-After header for its API (https://developers.dropbox.com/dbx-performance-guide) and no figure for the token endpoint; Retry-After is honoured for every call.',
  ],
});
