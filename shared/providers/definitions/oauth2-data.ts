// Any plain OAuth 2.0 provider, defined from data alone (OAUTH2_PROVIDERS, OAUTH2_PROVIDERS_FILE, the catalog folder):
// the settings become a definition like the built-in ones, and the identity reply is read by JSON pointers.
import { z } from 'zod';
import { type OAuth2ProviderSettings, oauth2ProviderSettingsSchema } from '../../config/oauth2-provider-settings.js';
import { defineProvider, type IdentityFacts, type ProviderDefinition } from '../definition-schema.js';
import { readJsonPointer } from '../json-pointer.js';

export type { OAuth2ProviderSettings };

const IDENTITY_REQUEST = 'identity';
// Any scope token (RFC 6749 §3.3), for providers whose caller may ask for whatever scopes the app registration allows.
const anyScopeToken = /[\x21\x23-\x5B\x5D-\x7E]+/;

/** A definition from data: validated by the settings schema, then by the definition schema like every provider. */
export function defineDataProvider(input: OAuth2ProviderSettings): ProviderDefinition {
  const settings = oauth2ProviderSettingsSchema.parse(input);
  const { identity, revocation } = settings;
  const allowed = settings.scopes.allowed;
  return defineProvider({
    id: settings.id,
    displayName: settings.displayName,
    protocol: 'oauth2',
    connectionConfigSchema: z.object({}).strict(),
    endpoints: { authorization: settings.authorizationUrl, token: settings.tokenUrl },
    scopes: {
      separator: settings.scopes.separator,
      ...(settings.scopes.responseSeparator === undefined ? {} : { responseSeparator: settings.scopes.responseSeparator }),
      defaults: settings.scopes.defaults,
      allowed: allowed === 'any' ? { kind: 'pattern', pattern: anyScopeToken } : allowed === 'none' ? { kind: 'none' } : { kind: 'list', values: allowed },
    },
    pkce: settings.pkce,
    clientAuthentication: settings.clientAuthentication,
    tokenRequest: settings.tokenRequest,
    authorizationParams: settings.authorizationParams,
    ...(settings.offlineAccess === undefined ? {} : { offlineAccess: settings.offlineAccess }),
    refresh: settings.refresh,
    whenNoExpiresIn: settings.whenNoExpiresIn,
    revocation:
      revocation.kind === 'none'
        ? revocation
        : {
            kind: 'rfc7009',
            url: revocation.url,
            token: revocation.token,
            sendTokenTypeHint: revocation.sendTokenTypeHint,
            clientAuthentication: revocation.clientAuthentication,
            bodyFormat: revocation.bodyFormat,
          },
    identity: {
      kind: 'requests',
      requests: [
        {
          name: IDENTITY_REQUEST,
          request: {
            method: identity.method,
            url: identity.url,
            bearer: 'access_token',
            headers: identity.headers,
            ...(identity.body === undefined ? {} : { body: { format: 'json', fields: identity.body } }),
          },
        },
      ],
      parse: (replies) => identityFromReply(replies[IDENTITY_REQUEST], identity),
    },
    ...(settings.api === undefined ? {} : { api: settings.api }),
    sources: settings.sources,
  });
}

/** The account named by the reply; a reply without the account id is malformed (the caller maps the throw). */
function identityFromReply(reply: unknown, pointers: { accountId: string; displayName?: string; email?: string }): IdentityFacts {
  const id = readJsonPointer(reply, pointers.accountId);
  if (!((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)))) {
    throw new TypeError('the identity reply has no account id where the definition points');
  }
  const names = [pointers.displayName, pointers.email].map((pointer) => (pointer === undefined ? undefined : readJsonPointer(reply, pointer)));
  const displayName = names.find((name): name is string => typeof name === 'string' && name.trim() !== '');
  return { accountId: String(id), ...(displayName === undefined ? {} : { displayName }) };
}
