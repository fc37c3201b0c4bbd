// The provider catalog: every built-in definition and catalog file (validated when this module loads) plus the
// operator's own providers: OpenID ones from their issuer, plain OAuth 2.0 ones as data.
import { type OAuth2ProviderSettings, oauth2ProviderSettingsSchema } from '../config/oauth2-provider-settings.js';
import { BrokerError } from '../errors/broker-error.js';
import { catalogFiles } from './catalog/catalog.js';
import { defineDataProvider } from './definitions/oauth2-data.js';
import type { ProviderDefinition } from './definition-schema.js';
import { createEndpointBoundary, type EndpointRegistration, takesBaseUrl } from './endpoint-boundary.js';
import { asana } from './definitions/asana.js';
import { atlassian } from './definitions/atlassian.js';
import { dropbox } from './definitions/dropbox.js';
import { githubApp } from './definitions/github-app.js';
import { githubOauthApp } from './definitions/github-oauth-app.js';
import { google } from './definitions/google.js';
import { hubspot } from './definitions/hubspot.js';
import { microsoft } from './definitions/microsoft.js';
import { notion } from './definitions/notion.js';
import { defineOidcProvider, type OidcProviderSettings } from './definitions/oidc.js';
import { salesforce } from './definitions/salesforce.js';
import { slack } from './definitions/slack.js';
import { smartOnFhir } from './definitions/smart-on-fhir.js';
import { trello } from './definitions/trello.js';
import { zoom } from './definitions/zoom.js';

export const builtInProviders: readonly ProviderDefinition[] = Object.freeze([
  slack,
  google,
  microsoft,
  notion,
  salesforce,
  hubspot,
  dropbox,
  asana,
  githubOauthApp,
  githubApp,
  atlassian,
  zoom,
  trello,
  smartOnFhir,
]);

/** The catalog folder's providers: a bad file fails every start, naming the file and the field. */
export const catalogProviders: readonly ProviderDefinition[] = Object.freeze(
  Object.entries(catalogFiles).map(([file, content]) => {
    const parsed = oauth2ProviderSettingsSchema.safeParse(content);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`);
      throw new TypeError(`provider catalog file ${file} is invalid: ${problems.join('; ')}`);
    }
    if (parsed.data.sources.length === 0) throw new TypeError(`provider catalog file ${file} names no sources for its facts`);
    if (`${parsed.data.id}.json` !== file) throw new TypeError(`provider catalog file ${file} must be named after its id (${parsed.data.id}.json)`);
    return defineDataProvider(parsed.data);
  }),
);

export interface ProviderCatalog {
  readonly providers: readonly ProviderDefinition[];
  /** The definition for an id; anything else is `unknown_provider`. */
  resolve(id: string): ProviderDefinition;
}

/** What PROVIDER_ENDPOINT_ALLOWLIST registers, by provider id. */
export type EndpointAllowlist = Readonly<Record<string, EndpointRegistration>>;

/**
 * The definition with its boundary widened by the operator's registration. Only what can apply is accepted, so a
 * mistyped entry fails at start-up instead of silently allowing nothing (or more than meant).
 */
function registered(provider: ProviderDefinition, registration: EndpointRegistration | undefined): ProviderDefinition {
  if (registration === undefined) return provider;
  const misplaced = [
    ...(registration.issuers.length > 0 && !takesBaseUrl(provider.endpointBoundary) ? ['issuers'] : []),
    ...(registration.origins.length > 0 && provider.endpoints.discovery === undefined ? ['origins'] : []),
  ];
  if (misplaced.length > 0) {
    throw new BrokerError('misconfigured', `PROVIDER_ENDPOINT_ALLOWLIST lists ${misplaced.join(' and ')} for ${provider.displayName}, whose endpoints take none`, {
      details: { provider: provider.id, variables: ['PROVIDER_ENDPOINT_ALLOWLIST'] },
    });
  }
  return Object.freeze({ ...provider, endpointBoundary: createEndpointBoundary(provider.endpointBoundary, registration) });
}

/** Builds the catalog; a duplicate id, or an allowlist entry for no provider, is a configuration error caught at start-up. */
export function createProviderCatalog(
  oidcProviders: readonly OidcProviderSettings[] = [],
  endpointAllowlist: EndpointAllowlist = {},
  oauth2Providers: readonly OAuth2ProviderSettings[] = [],
): ProviderCatalog {
  const byId = new Map<string, ProviderDefinition>();
  const configured = [...oidcProviders.map(defineOidcProvider), ...oauth2Providers.map(defineDataProvider)];
  for (const provider of [...builtInProviders, ...catalogProviders, ...configured]) {
    if (byId.has(provider.id)) {
      throw new BrokerError('misconfigured', 'Two providers share one id', { details: { provider: provider.id } });
    }
    byId.set(provider.id, registered(provider, endpointAllowlist[provider.id]));
  }
  const unknown = Object.keys(endpointAllowlist).filter((id) => !byId.has(id));
  if (unknown.length > 0) {
    throw new BrokerError('misconfigured', 'PROVIDER_ENDPOINT_ALLOWLIST names providers this broker does not have', {
      details: { providers: unknown, variables: ['PROVIDER_ENDPOINT_ALLOWLIST'] },
    });
  }
  const providers = [...byId.values()];
  return Object.freeze({
    providers: Object.freeze(providers),
    resolve(id: string): ProviderDefinition {
      const provider = byId.get(id);
      if (provider === undefined) {
        throw new BrokerError('unknown_provider', 'The provider is not configured on this broker', {
          details: { provider: /^[a-z0-9_]{1,40}$/.test(id) ? id : '(invalid id)' },
        });
      }
      return provider;
    },
  });
}
