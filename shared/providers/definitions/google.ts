// Google (Gmail, Drive, Calendar, YouTube): OpenID Connect, offline access only with access_type=offline.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

// Google documents the field on the code exchange reply; a string of digits is accepted as elsewhere.
const timeBasedReply = z
  .object({
    refresh_token_expires_in: z.union([z.number().int().min(0), z.string().regex(/^\d+$/).transform(Number)]).optional(),
    id_token: z.string().optional(),
  })
  .loose();

const idTokenIssuedAt = z.object({ iat: z.number().int() }).loose();

/**
 * The id_token's `iat`, which the generic code has already checked against the clock: the moment the reply's
 * relative `refresh_token_expires_in` counts from, without the hook reading a clock of its own.
 */
function issuedAtSeconds(idToken: string | undefined): number | undefined {
  const payload = idToken?.split('.')[1];
  if (payload === undefined) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = idTokenIssuedAt.safeParse(claims);
  return parsed.success ? parsed.data.iat : undefined;
}

export const google = defineProvider({
  id: 'google',
  displayName: 'Google',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: { authorization: 'https://accounts.google.com/o/oauth2/v2/auth', token: 'https://oauth2.googleapis.com/token' },
  scopes: {
    separator: ' ',
    defaults: ['openid', 'email', 'profile'],
    allowed: { kind: 'pattern', pattern: /openid|email|profile|https:\/\/(?:www\.googleapis\.com\/auth\/[a-z0-9._-]+|mail\.google\.com\/)/ },
  },
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_post',
  // The proxy's destination. Google's REST APIs share https://www.googleapis.com (Gmail /gmail/v1, Drive /drive/v3, Calendar /calendar/v3: https://developers.google.com/drive/api/reference/rest/v3, https://developers.google.com/gmail/api/reference/rest).
  api: { baseUrl: 'https://www.googleapis.com' },
  tokenRequest: {
    bodyFormat: 'form',
    readReply: (body) => {
      const reply = timeBasedReply.parse(body);
      if (reply.refresh_token_expires_in === undefined) return {};
      const issuedAt = issuedAtSeconds(reply.id_token);
      const refreshTokenExpiresAt = issuedAt === undefined ? undefined : new Date((issuedAt + reply.refresh_token_expires_in) * 1000).toISOString();
      return { metadata: { accessDuration: 'time-based', refreshTokenExpiresAt } };
    },
  },
  // prompt=consent: Google issues a refresh token only on a fresh consent.
  authorizationParams: { access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true' },
  issuer: { expected: 'https://accounts.google.com', authorizationResponseIss: 'always' },
  idToken: 'expected',
  refresh: { supported: true, rotates: 'never', deadGrantErrors: ['invalid_grant'] },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 3600 },
  revocation: {
    kind: 'rfc7009',
    url: 'https://oauth2.googleapis.com/revoke',
    token: 'refresh_token_else_access_token',
    sendTokenTypeHint: false,
    clientAuthentication: 'none',
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'userinfo', request: { method: 'GET', url: 'https://openidconnect.googleapis.com/v1/userinfo', bearer: 'access_token' } }],
    parse: ({ userinfo }) => {
      const info = z.object({ sub: z.string(), email: z.string().optional(), name: z.string().optional() }).loose().parse(userinfo);
      const displayName = info.email ?? info.name;
      return { accountId: info.sub, ...(displayName ? { displayName } : {}) };
    },
  },
  metadataKeys: ['accessDuration', 'refreshTokenExpiresAt'],
  decisions: [
    'Google sends iss in authorization responses (authorization_response_iss_parameter_supported in its discovery document).',
    'Revocation sends no client credentials: Google documents the revoke call without them.',
    'Time-based access (verified): a user may grant access for a limited time; the refresh token then expires after that duration, and refresh_token_expires_in on the code exchange reply is the time left — the "Time-based access" section of the Google OAuth guides, retrieved from https://developers.google.com/youtube/v3/guides/auth/installed-apps (also quoted from the token reply table of developers.google.com/identity/protocols/oauth2: "only set when the user grants time-based access"). Such a connection is marked: metadata accessDuration=time-based and refreshTokenExpiresAt (the id_token iat plus that many seconds), visible to products and operators; a reconnect with ongoing access clears both. When the time is up Google answers invalid_grant, which moves the connection to needs_reauth.',
    'Testing publishing status (verified): an External app in Testing gets refresh tokens that expire after 7 days (unless it asks only for name, email and profile); the refresh then fails with invalid_grant "Token has been expired or revoked." — https://developers.google.com/google-ads/api/docs/get-started/common-errors. The reply carries no signal for it, so it surfaces as needs_reauth at the first refresh after the 7 days; deployments must publish the app (docs/providers.md).',
    'Refresh token cap (confirmed from verbatim quotations of https://developers.google.com/identity/protocols/oauth2, which is not itself in the search corpus): 100 refresh tokens per Google Account per OAuth client ID; the 101st silently invalidates the oldest. The older 50 and 25 figures are superseded. prompt=consent mints a new one on every connect; the broker keeps only the newest per connection, so the cap bites only when one Google account holds more than 100 live grants of the same client (the oldest, then needs_reauth on invalid_grant).',
    'Token endpoint rate limits: Google documents a per-app new-user authorization rate limit shown to the user as Error 403 rate_limit_exceeded on its own consent page (https://support.google.com/cloud/answer/9028764), and no number for refresh calls; 429 and 5xx are retried with backoff like every provider.',
  ],
});
