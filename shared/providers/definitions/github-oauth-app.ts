// GitHub OAuth App: user tokens that never expire and cannot be refreshed.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';
import { githubApi, githubEndpoints, githubErrorInSuccessBody, githubIdentity, githubRevocation } from './github-shared.js';

export const githubOauthApp = defineProvider({
  id: 'github',
  displayName: 'GitHub (OAuth App)',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: githubEndpoints,
  // Requests use spaces; the token reply lists granted scopes with commas ("repo,gist").
  scopes: { separator: ' ', responseSeparator: ',', defaults: ['read:user'], allowed: { kind: 'pattern', pattern: /[a-z_]+(:[a-z_]+)?/ } },
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_post',
  api: githubApi,
  // Left at GitHub's default form-encoded reply on purpose: the parser handles what GitHub sends unasked.
  tokenRequest: { bodyFormat: 'form', responseFormat: 'form' },
  refresh: { supported: false, reason: 'OAuth App tokens do not expire and GitHub issues no refresh token for them.' },
  whenNoExpiresIn: { kind: 'never-expires-until-revoked', healthCheckEverySeconds: 24 * 3600 },
  revocation: githubRevocation,
  identity: githubIdentity,
  metadataKeys: ['login'],
  decisions: [
    'Client authentication: GitHub documents client_id and client_secret as parameters of POST /login/oauth/access_token and nothing about HTTP Basic there (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps): client_secret_post.',
    'Token cap (verified): ten tokens per user/application/scope combination and ten new tokens per hour; past ten GitHub revokes an existing one (the oldest never-used, then the least recently used), past the hourly limit it asks the user to re-authorize — https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/token-expiration-and-revocation. A reconnect leaves the replaced token live at GitHub, so it is that orphan that goes first; a revoked token answers 401 on /user, which the health check turns into needs_reauth.',
    'Unused tokens (verified): GitHub revokes an OAuth token unused for one year (same page, "Token expired due to lack of use"). The daily health check calls /user with the token, so a live connection never goes a year unused.',
  ],
  errorInSuccessBody: githubErrorInSuccessBody,
});
