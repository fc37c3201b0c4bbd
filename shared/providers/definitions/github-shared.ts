// What GitHub OAuth Apps and GitHub Apps share: hosts, form-encoded replies, errors on HTTP 200, /user identity.
import { z } from 'zod';
import type { ProviderDefinitionInput, ProviderRequest } from '../definition-schema.js';

export const githubEndpoints = {
  authorization: 'https://github.com/login/oauth/authorize',
  token: 'https://github.com/login/oauth/access_token',
} as const;

/** The proxy's destination: GitHub's REST API (https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api). */
export const githubApi: NonNullable<ProviderDefinitionInput['api']> = { baseUrl: 'https://api.github.com' };

export const githubRevocation: ProviderDefinitionInput['revocation'] = {
  kind: 'provider-call',
  token: 'access_token',
  request: {
    method: 'DELETE',
    url: 'https://api.github.com/applications/{clientId}/token',
    bearer: 'none',
    basicClientAuth: true,
    headers: { accept: 'application/vnd.github+json' },
    body: { format: 'json', fields: { access_token: '{token}' } },
  } satisfies ProviderRequest,
  // 404: GitHub no longer knows the token.
  alreadyRevokedStatuses: [404],
};

export const githubIdentity: ProviderDefinitionInput['identity'] = {
  kind: 'requests',
  requests: [
    {
      name: 'user',
      request: { method: 'GET', url: 'https://api.github.com/user', bearer: 'access_token', headers: { accept: 'application/vnd.github+json' } },
    },
  ],
  parse: ({ user }) => {
    const info = z.object({ id: z.number(), login: z.string() }).loose().parse(user);
    return { accountId: String(info.id), displayName: info.login, metadata: { login: info.login } };
  },
};

/** The token endpoint answers HTTP 200 with error=... (bad_verification_code, bad_refresh_token, ...). */
export function githubErrorInSuccessBody(body: unknown): string | undefined {
  const parsed = z.object({ error: z.string() }).loose().safeParse(body);
  return parsed.success ? parsed.data.error : undefined;
}
