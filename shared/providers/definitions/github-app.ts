// GitHub App user access tokens: 8-hour tokens with 6-month refresh tokens that rotate on every use.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';
import { githubApi, githubEndpoints, githubErrorInSuccessBody, githubIdentity, githubRevocation } from './github-shared.js';

export const githubApp = defineProvider({
  id: 'github_app',
  displayName: 'GitHub (GitHub App)',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: githubEndpoints,
  // Permissions come from the App registration, not from scopes.
  scopes: { separator: null, defaults: [], allowed: { kind: 'none' } },
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_post',
  api: githubApi,
  tokenRequest: { bodyFormat: 'form', responseFormat: 'form' },
  refresh: { supported: true, rotates: 'always', deadGrantErrors: ['bad_refresh_token', 'invalid_grant'] },
  // Apps that opted out of expiring user tokens get none; those tokens live until revoked.
  whenNoExpiresIn: { kind: 'never-expires-until-revoked', healthCheckEverySeconds: 24 * 3600 },
  revocation: githubRevocation,
  identity: githubIdentity,
  metadataKeys: ['login'],
  decisions: [
    'Token endpoint rate limits: not documented for GitHub App user tokens (GitHub documents API limits of 5,000 requests per hour per user, and the ten-token cap for OAuth Apps only — https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/token-expiration-and-revocation). Refresh runs once per connection per 8 hours under the lease; 429 and 5xx are retried with backoff.',
    'Client authentication: client_id and client_secret as parameters, as GitHub documents for refreshing user access tokens (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens).',
  ],
  errorInSuccessBody: githubErrorInSuccessBody,
});
