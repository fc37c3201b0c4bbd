// Atlassian Cloud 3LO (Jira, Confluence): JSON token body, rotating refresh tokens, cloud ids from accessible-resources.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

export const atlassian = defineProvider({
  id: 'atlassian',
  displayName: 'Atlassian',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: { authorization: 'https://auth.atlassian.com/authorize', token: 'https://auth.atlassian.com/oauth/token' },
  scopes: { separator: ' ', defaults: ['offline_access', 'read:me'], allowed: { kind: 'pattern', pattern: /offline_access|[a-z-]+:[a-z-]+(:[a-z-]+)?/ } },
  pkce: { method: 'none', reason: 'Atlassian does not document PKCE for Cloud 3LO apps (community: not officially supported); the client secret authenticates the exchange.' },
  clientAuthentication: 'client_secret_post',
  // The proxy's destination. OAuth 2.0 (3LO) apps call Jira at https://api.atlassian.com/ex/jira/{cloudid}/rest/api/... (https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/); the connection's first site is its cloudId. Confluence (/ex/confluence/) is not reachable through this base.
  api: { baseUrl: 'https://api.atlassian.com/ex/jira/{cloudId}' },
  tokenRequest: { bodyFormat: 'json' },
  authorizationParams: { audience: 'api.atlassian.com', prompt: 'consent' },
  // Rotated-out tokens stay valid for a 10-minute leeway ("Reuse of old tokens outside the leeway interval invalidates
  // all refresh tokens ... The leeway interval is 10 minutes": https://community.developer.atlassian.com/t/updated-31-january-2022-action-required-deprecating-persistent-refresh-tokens/54172;
  // "a 10-minutes leeway window after the rotating refresh token exchange where old access token and refresh token are
  // still valid ... to allow retries if the developers fail to receive the new token pair":
  // https://community.developer.atlassian.com/t/the-old-access-token-will-be-revoked-during-the-refresh-token-exchange/83103).
  refresh: { supported: true, rotates: 'always', deadGrantErrors: ['invalid_grant', 'unauthorized_client'], reuseGraceSeconds: 600 },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 3600 },
  revocation: { kind: 'none', reason: 'Atlassian documents no token revocation endpoint for 3LO apps; users remove access from their account settings.' },
  identity: {
    kind: 'requests',
    requests: [
      { name: 'me', request: { method: 'GET', url: 'https://api.atlassian.com/me', bearer: 'access_token' } },
      { name: 'resources', request: { method: 'GET', url: 'https://api.atlassian.com/oauth/token/accessible-resources', bearer: 'access_token' } },
    ],
    parse: ({ me, resources }) => {
      const user = z.object({ account_id: z.string(), email: z.string().optional(), name: z.string().optional() }).loose().parse(me);
      const sites = z.array(z.object({ id: z.string(), url: z.string() }).loose()).parse(resources);
      const first = sites[0];
      const displayName = user.email ?? user.name;
      return {
        accountId: user.account_id,
        ...(displayName ? { displayName } : {}),
        metadata: first ? { cloudId: first.id, siteUrl: first.url, cloudIds: sites.map((s) => s.id).join(',') } : {},
      };
    },
  },
  metadataKeys: ['cloudId', 'siteUrl', 'cloudIds'],
  decisions: [
    'Token body is JSON as in Atlassian\'s examples (form acceptance is unconfirmed).',
    'PKCE (searched): Atlassian documents PKCE for Jira Data Center\'s own OAuth provider only (https://confluence.atlassian.com/adminjiraserver101/jira-oauth-2-0-provider-api-1455427907.html); the Cloud 3LO guide (https://developer.atlassian.com/cloud/jira/software/oauth-2-3lo-apps/) does not, so none is sent.',
    'A dead refresh token answers 403 invalid_grant; a refresh reply may omit refresh_token, and the old one is then kept.',
    'Rotated-out refresh tokens keep working for a documented 10-minute leeway (reuseGraceSeconds: 600); reuse after it revokes the whole grant.',
    'One token can cover several sites: the first site becomes cloudId, all are listed in cloudIds.',
  ],
});
