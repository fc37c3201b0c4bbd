// Any standards-compliant OpenID provider, defined from data alone: an id, a name, an issuer URL.
import { z } from 'zod';
import { type OidcProviderSettings, oidcProviderSettingsSchema } from '../../config/oidc-provider-settings.js';
import { defineProvider, type ProviderDefinition } from '../definition-schema.js';

export type { OidcProviderSettings };

/** A catalog entry for an OpenID provider: everything else comes from its discovery document. */
export function defineOidcProvider(input: OidcProviderSettings): ProviderDefinition {
  const settings = oidcProviderSettingsSchema.parse(input);
  return defineProvider({
    id: settings.id,
    displayName: settings.displayName,
    protocol: 'oauth2',
    connectionConfigSchema: z.object({}).strict(),
    endpoints: { discovery: 'oidc', issuer: settings.issuer },
    scopes: { separator: ' ', defaults: ['openid', ...settings.scopes], allowed: { kind: 'pattern', pattern: /[\x21\x23-\x5B\x5D-\x7E]+/ } },
    pkce: { method: 'S256' },
    clientAuthentication: settings.clientAuthentication,
    tokenRequest: { bodyFormat: 'form' },
    authorizationParams: settings.authorizationParams,
    offlineAccess: { scope: 'offline_access', promptConsent: true },
    idToken: 'expected',
    refresh: { supported: true, rotates: 'sometimes', deadGrantErrors: ['invalid_grant'] },
    whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 3600 },
    revocation: {
      kind: 'rfc7009',
      url: 'discovered',
      token: 'refresh_token_else_access_token',
      sendTokenTypeHint: true,
      clientAuthentication: settings.clientAuthentication,
    },
    identity: { kind: 'oidc-userinfo' },
  });
}
