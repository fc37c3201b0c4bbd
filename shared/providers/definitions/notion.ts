// Notion public connections: JSON token body with HTTP Basic, no scopes, no expires_in, workspace facts in the reply.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

export const NOTION_VERSION = '2022-06-28';

const tokenReply = z
  .object({
    bot_id: z.string(),
    workspace_id: z.string(),
    workspace_name: z.string().nullable().optional(),
    owner: z.object({ type: z.string(), user: z.object({ id: z.string() }).loose().optional() }).loose().optional(),
  })
  .loose();

export const notion = defineProvider({
  id: 'notion',
  displayName: 'Notion',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: { authorization: 'https://api.notion.com/v1/oauth/authorize', token: 'https://api.notion.com/v1/oauth/token' },
  scopes: { separator: null, defaults: [], allowed: { kind: 'none' } },
  pkce: { method: 'none', reason: 'Notion documents no PKCE parameters for public connections; the client secret authenticates the exchange.' },
  clientAuthentication: 'client_secret_basic',
  // The proxy's destination. Notion's API is https://api.notion.com/v1/... with a Notion-Version header the caller sends (https://developers.notion.com/reference/intro).
  api: { baseUrl: 'https://api.notion.com' },
  tokenRequest: {
    bodyFormat: 'json',
    extraHeaders: { 'notion-version': NOTION_VERSION },
    readReply: (body, { grant }) => {
      const reply = tokenReply.parse(body);
      const metadata = {
        workspaceId: reply.workspace_id,
        botId: reply.bot_id,
        ...(reply.workspace_name ? { workspaceName: reply.workspace_name } : {}),
        ...(reply.owner?.user?.id ? { ownerUserId: reply.owner.user.id } : {}),
      };
      // workspace_id is not unique per token (a workspace can authorize twice); the bot id is.
      if (grant !== 'authorization_code') return { metadata };
      return { metadata, account: { accountId: reply.bot_id, ...(reply.workspace_name ? { displayName: reply.workspace_name } : {}) } };
    },
  },
  authorizationParams: { owner: 'user' },
  refresh: { supported: true, rotates: 'always', deadGrantErrors: ['invalid_grant'] },
  // No expires_in ever: refresh daily so a rotating pair is exercised and a dead grant shows up within a day.
  whenNoExpiresIn: { kind: 'refresh-every', seconds: 24 * 3600 },
  revocation: {
    kind: 'provider-call',
    token: 'access_token',
    request: {
      method: 'POST',
      url: 'https://api.notion.com/v1/oauth/revoke',
      bearer: 'none',
      basicClientAuth: true,
      headers: { 'notion-version': NOTION_VERSION },
      body: { format: 'json', fields: { token: '{token}' } },
    },
  },
  identity: {
    kind: 'requests',
    requests: [
      { name: 'me', request: { method: 'GET', url: 'https://api.notion.com/v1/users/me', bearer: 'access_token', headers: { 'notion-version': NOTION_VERSION } } },
    ],
    parse: ({ me }) => {
      const bot = z.object({ id: z.string(), name: z.string().nullable().optional() }).loose().parse(me);
      return { accountId: bot.id, ...(bot.name ? { displayName: bot.name } : {}), metadata: { botId: bot.id } };
    },
  },
  metadataKeys: ['workspaceId', 'workspaceName', 'botId', 'ownerUserId'],
  decisions: [
    'Old refresh tokens are presumed invalid after a refresh (not documented): rotation is declared always, so the new one is stored first.',
    'Dead refresh token: invalid_grant per a Nango report (unconfirmed in Notion docs).',
    'PKCE: not documented by Notion (checked developers.notion.com authorization guide), so not sent.',
  ],
});
