// GitHub OAuth App: user tokens that never expire and cannot be refreshed.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';
import { githubEndpoints, githubHooks, githubIdentity, githubRevocation } from './github-shared.js';

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
  // Left at GitHub's default form-encoded reply on purpose: the parser handles what GitHub sends unasked.
  tokenRequest: { bodyFormat: 'form', responseFormat: 'form' },
  refresh: { supported: false, reason: 'OAuth App tokens do not expire and GitHub issues no refresh token for them.' },
  whenNoExpiresIn: { kind: 'never-expires-until-revoked', healthCheckEverySeconds: 24 * 3600 },
  revocation: githubRevocation,
  identity: githubIdentity,
  metadataKeys: ['login'],
  decisions: ['HTTP Basic at the token endpoint is undocumented: client_secret_post.'],
  hooks: githubHooks,
});
