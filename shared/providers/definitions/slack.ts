// Slack OAuth v2: bot or user token per connection, errors as HTTP 200 `ok:false`, optional token rotation.
import { z } from 'zod';
import { defineProvider, type TokenHookContext, type TokenReplyReading } from '../definition-schema.js';

const okEnvelope = z.object({ ok: z.boolean(), error: z.string().optional() }).loose();
const tokenReply = z
  .object({
    access_token: z.string().optional(),
    token_type: z.string().optional(),
    scope: z.string().optional(),
    expires_in: z.number().optional(),
    refresh_token: z.string().optional(),
    bot_user_id: z.string().optional(),
    team: z.object({ id: z.string(), name: z.string().optional() }).nullable().optional(),
    enterprise: z.object({ id: z.string() }).nullable().optional(),
    authed_user: z
      .object({
        id: z.string(),
        access_token: z.string().optional(),
        token_type: z.string().optional(),
        scope: z.string().optional(),
        expires_in: z.number().optional(),
        refresh_token: z.string().optional(),
      })
      .optional(),
  })
  .loose();

/** One reading of an OAuth v2 reply: the token the connection wants, the workspace facts, and the workspace as account. */
function readTokenReply(body: unknown, { connectionConfig }: TokenHookContext): TokenReplyReading {
  const reply = tokenReply.parse(body);
  const user = reply.authed_user;
  // A refresh answers at top level with token_type bot|user; a user-only install puts the token in authed_user.
  const wantUser = connectionConfig.tokenKind === 'user';
  const top = reply.access_token !== undefined && (!wantUser || reply.token_type === 'user' || !user?.access_token);
  const source = top ? reply : user;
  const metadata: Record<string, string> = { tokenKind: connectionConfig.tokenKind ?? 'bot' };
  if (reply.team?.id) metadata.teamId = reply.team.id;
  if (reply.team?.name) metadata.teamName = reply.team.name;
  if (reply.enterprise?.id) metadata.enterpriseId = reply.enterprise.id;
  if (reply.bot_user_id) metadata.botUserId = reply.bot_user_id;
  if (user?.id) metadata.authedUserId = user.id;
  // Several workspaces per user: the workspace (team) is the account; Enterprise Grid org installs have no team.
  const accountId = reply.team?.id ?? reply.enterprise?.id;
  return {
    fields: {
      access_token: source?.access_token,
      token_type: source?.token_type ?? (wantUser ? 'user' : 'bot'),
      scope: source?.scope,
      expires_in: source?.expires_in,
      refresh_token: source?.refresh_token,
    },
    metadata,
    ...(accountId === undefined ? {} : { account: { accountId, ...(reply.team?.name ? { displayName: reply.team.name } : {}) } }),
  };
}

export const slack = defineProvider({
  id: 'slack',
  displayName: 'Slack',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({ tokenKind: z.enum(['bot', 'user']).default('bot') }).strict(),
  endpoints: { authorization: 'https://slack.com/oauth/v2/authorize', token: 'https://slack.com/api/oauth.v2.access' },
  scopes: {
    separator: ',',
    defaults: [],
    allowed: { kind: 'pattern', pattern: /[a-z]+(?:[.:][a-z_]+)*/ },
    parameter: (config) => (config.tokenKind === 'user' ? 'user_scope' : 'scope'),
  },
  pkce: {
    method: 'none',
    reason: 'Enabling PKCE turns a Slack app into a public client irreversibly; a confidential server-side broker authenticates with its client secret instead (as Nango does).',
  },
  // Slack's method docs prefer HTTP Basic over client_id/client_secret parameters.
  clientAuthentication: 'client_secret_basic',
  // The proxy's destination. Slack's Web API methods are https://slack.com/api/{method} (https://api.slack.com/web).
  api: { baseUrl: 'https://slack.com/api' },
  tokenRequest: { bodyFormat: 'form', readReply: readTokenReply },
  refresh: {
    supported: true,
    rotates: 'always',
    deadGrantErrors: ['invalid_refresh_token', 'token_revoked', 'token_expired', 'invalid_grant', 'invalid_auth', 'account_inactive'],
  },
  // Without rotation Slack tokens never expire; with rotation expires_in is always present.
  whenNoExpiresIn: { kind: 'never-expires-until-revoked', healthCheckEverySeconds: 6 * 3600 },
  revocation: {
    kind: 'provider-call',
    token: 'access_token',
    request: { method: 'POST', url: 'https://slack.com/api/auth.revoke', bearer: 'access_token' },
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'authTest', request: { method: 'POST', url: 'https://slack.com/api/auth.test', bearer: 'access_token' } }],
    parse: ({ authTest }) => {
      const reply = z.object({ team_id: z.string(), team: z.string().optional(), user_id: z.string().optional() }).loose().parse(authTest);
      return { accountId: reply.team_id, ...(reply.team ? { displayName: reply.team } : {}), metadata: { teamId: reply.team_id } };
    },
  },
  metadataKeys: ['teamId', 'teamName', 'enterpriseId', 'botUserId', 'authedUserId', 'tokenKind'],
  decisions: [
    'Refresh failures: Slack documents ok:false on HTTP 200 (invalid_refresh_token); a Nango blog shows HTTP 400 invalid_grant. Both are treated as a dead grant.',
    'Slack rotation is an app-level setting; a connection without expires_in is treated as never expiring and health-checked every 6 hours.',
    'Rotation (verified): with token rotation the access token expires every 12 hours and the refresh token used is revoked, so the new one must be stored first — https://docs.slack.dev/authentication/using-token-rotation.',
  ],
  errorInSuccessBody: (body) => {
    const parsed = okEnvelope.safeParse(body);
    if (!parsed.success) return undefined;
    return parsed.data.ok ? undefined : (parsed.data.error ?? 'unknown_error');
  },
});
