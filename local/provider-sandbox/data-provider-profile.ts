// How the sandbox plays a provider defined as data (the catalog folder, OAUTH2_PROVIDERS): its definition is its
// documentation, so the wire behaviour follows the settings — endpoints, client authentication, formats, PKCE,
// rotation, revocation, and an identity reply with the account's facts where the JSON pointers say.
import { type ParsedOAuth2ProviderSettings, oauth2ProviderSettingsSchema } from '../../shared/config/oauth2-provider-settings.js';
import { catalogFiles } from '../../shared/providers/catalog/catalog.js';
import type { Reply, SandboxProfile, TokenReplyContext } from './profiles.js';

/** Every catalog file's settings, as the broker reads them. */
export function catalogProviderSettings(): ParsedOAuth2ProviderSettings[] {
  return Object.values(catalogFiles).map((content) => oauth2ProviderSettingsSchema.parse(content));
}

/** The sandbox account's facts for a data-defined provider: what its identity reply names. */
export function dataProviderAccount(settings: Pick<ParsedOAuth2ProviderSettings, 'id'>, account: string) {
  return { accountId: `${settings.id}-${account}`, displayName: `Sandbox user ${account}`, email: `${account}@sandbox.test` };
}

/** Builds the reply object that has `value` at each RFC 6901 pointer. */
function placeAtPointers(entries: readonly (readonly [string | undefined, unknown])[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [pointer, value] of entries) {
    if (pointer === undefined) continue;
    const names = pointer.slice(1).split('/').map((raw) => raw.replaceAll('~1', '/').replaceAll('~0', '~'));
    let node = root;
    for (const name of names.slice(0, -1)) {
      node[name] ??= {};
      node = node[name] as Record<string, unknown>;
    }
    node[names.at(-1) as string] = value;
  }
  return root;
}

export function dataProviderProfile(settings: ParsedOAuth2ProviderSettings): SandboxProfile {
  const { identity, refresh, revocation } = settings;
  const form = settings.tokenRequest.responseFormat === 'form';
  const tokenBody = (c: TokenReplyContext): Reply => ({
    status: 200,
    ...(form ? { form: true } : {}),
    body: {
      access_token: c.accessToken,
      token_type: 'bearer',
      ...(c.expiresIn === undefined ? {} : { expires_in: form ? String(c.expiresIn) : c.expiresIn }),
      ...(c.refreshToken === undefined ? {} : { refresh_token: c.refreshToken }),
      scope: settings.scopes.separator === ',' ? c.scope.split(' ').filter(Boolean).join(',') : c.scope,
    },
  });
  return {
    id: settings.id,
    authorize: settings.authorizationUrl,
    token: settings.tokenUrl,
    clientAuth: settings.clientAuthentication === 'client_secret_basic' ? 'basic' : 'post',
    bodyFormat: settings.tokenRequest.bodyFormat,
    pkce: settings.pkce.method === 'none' ? 'unsupported' : settings.pkce.required ? 'required' : 'optional',
    defaults: { tokenLifetimeSeconds: 3600, rotate: refresh.supported && refresh.rotates === 'always' },
    tokenPrefix: `${settings.id}-sbx-`,
    requiredAuthorizeParams: settings.authorizationParams,
    requiredTokenParams: settings.tokenRequest.extraParams,
    issuesRefreshTokens: refresh.supported,
    error: (code) => ({ status: 400, ...(form ? { form: true } : {}), body: { error: code, error_description: 'sandbox error' } }),
    tokenBody,
    ...(revocation.kind === 'none'
      ? {}
      : {
          revoke: {
            url: revocation.url,
            method: 'POST' as const,
            style: 'rfc7009-form' as const,
            clientAuth: revocation.clientAuthentication === 'client_secret_basic' ? ('basic' as const) : revocation.clientAuthentication === 'client_secret_post' ? ('post' as const) : ('none' as const),
          },
        }),
    identity: [
      {
        url: identity.url,
        method: identity.method,
        ...(identity.body === undefined ? {} : { requestBody: identity.body }),
        body: (account) => {
          const facts = dataProviderAccount(settings, account);
          return placeAtPointers([
            [identity.accountId, facts.accountId],
            [identity.displayName, facts.displayName],
            [identity.email, facts.email],
          ]);
        },
      },
    ],
  };
}
