// Salesforce: login host per connection, instance_url in the reply, no expires_in, optional refresh rotation.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

const myDomainPattern = /^[a-z0-9-]+(--[a-z0-9-]+)?(\.sandbox)?\.my\.salesforce\.com$/i;
// Production, sandbox, or a My Domain (sandbox My Domains included); hosts are case-insensitive, stored lowercase.
const loginHost = z
  .string()
  .refine((value) => /^(login|test)\.salesforce\.com$/i.test(value) || myDomainPattern.test(value), 'must be login.salesforce.com, test.salesforce.com or a *.my.salesforce.com host')
  .transform((value) => value.toLowerCase());
const myDomainHost = z
  .string()
  .regex(myDomainPattern, 'must be a *.my.salesforce.com host')
  .transform((value) => value.toLowerCase());

const tokenReply = z.object({ instance_url: z.string().url(), id: z.string().url().optional(), issued_at: z.string().optional() }).loose();

/** The identity URL ends in /id/{orgId}/{userId}. */
function orgAndUser(idUrl: string): { orgId: string; userId: string } | undefined {
  const match = /\/id\/([A-Za-z0-9]{15,18})\/([A-Za-z0-9]{15,18})$/.exec(new URL(idUrl).pathname);
  return match ? { orgId: match[1] as string, userId: match[2] as string } : undefined;
}

export const salesforce = defineProvider({
  id: 'salesforce',
  displayName: 'Salesforce',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({ loginHost: loginHost.default('login.salesforce.com') }).strict(),
  endpoints: {
    authorization: 'https://{loginHost}/services/oauth2/authorize',
    token: 'https://{loginHost}/services/oauth2/token',
  },
  // The loginHost schemas above, as the hosts every request is checked against (a second line behind the schema).
  variableHosts: ['login.salesforce.com', 'test.salesforce.com', '*.my.salesforce.com'],
  scopes: {
    separator: ' ',
    defaults: ['api', 'refresh_token', 'openid', 'id'],
    allowed: { kind: 'list', values: ['api', 'refresh_token', 'offline_access', 'openid', 'id', 'profile', 'email', 'web', 'full', 'chatter_api'] },
  },
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_post',
  // The proxy's destination. REST calls go to the org's instance_url from the token reply, not the login host (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_oauth_and_connected_apps.htm).
  api: { baseUrl: '{instanceUrl}' },
  tokenRequest: {
    bodyFormat: 'form',
    readReply: (body) => {
      const reply = tokenReply.parse(body);
      const ids = reply.id ? orgAndUser(reply.id) : undefined;
      // One user in one org is the account: "{orgId}/{userId}".
      return { metadata: { instanceUrl: reply.instance_url, ...(ids ?? {}) }, ...(ids ? { account: { accountId: `${ids.orgId}/${ids.userId}` } } : {}) };
    },
  },
  refresh: { supported: true, rotates: 'sometimes', deadGrantErrors: ['invalid_grant'] },
  // Access tokens live for the org's session timeout, which the reply does not state; 2 hours is the default.
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 2 * 3600 },
  revocation: {
    kind: 'rfc7009',
    url: 'https://{loginHost}/services/oauth2/revoke',
    token: 'refresh_token_else_access_token',
    sendTokenTypeHint: false,
    clientAuthentication: 'none',
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'userinfo', request: { method: 'GET', url: 'https://{loginHost}/services/oauth2/userinfo', bearer: 'access_token' } }],
    parse: ({ userinfo }) => {
      const info = z
        .object({ organization_id: z.string(), user_id: z.string(), preferred_username: z.string().optional(), email: z.string().optional() })
        .loose()
        .parse(userinfo);
      const displayName = info.preferred_username ?? info.email;
      return {
        accountId: `${info.organization_id}/${info.user_id}`,
        ...(displayName ? { displayName } : {}),
        metadata: { orgId: info.organization_id, userId: info.user_id },
      };
    },
  },
  // The client credentials flow runs as the app's configured "run as" user, on the org's My Domain only.
  clientCredentials: {
    connectionConfigSchema: z.object({ loginHost: myDomainHost }).strict(),
    clientAuthentication: 'client_secret_post',
    account: { kind: 'token-response' },
  },
  metadataKeys: ['instanceUrl', 'orgId', 'userId'],
  decisions: [
    'Client credentials: POST https://{My Domain}/services/oauth2/token with grant_type=client_credentials and client_id/client_secret in the body; the reply carries instance_url and the id URL of the run-as user — https://help.salesforce.com/apex/HTViewHelpDoc?id=service.conversation_transcript_api_sample1.htm. The account of an app-only connection is that org/user pair.',
    'HTTP Basic for code/refresh grants is unconfirmed; body parameters (client_secret_post) are documented.',
    'Rotation is an app setting (off by default): rotates=sometimes, and a reply without refresh_token keeps the old one.',
  ],
});
