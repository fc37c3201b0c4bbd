// Where a provider's requests may go: the hosts its definition names, plus what the operator registered for it.
// Checked on production URLs, before PROVIDER_ORIGIN_OVERRIDES reroutes anything and before any byte is sent.
import { isHttpsOrLoopbackHttp } from '../config/loopback-url.js';
import { BrokerError } from '../errors/broker-error.js';
import { expandTemplate, type TemplatePosition, templateVariablePositions, templateVariables } from './url-template.js';

/** What the operator allows for one client registration (PROVIDER_ENDPOINT_ALLOWLIST), beyond the definition's hosts. */
export interface EndpointRegistration {
  /** Exact values a base-URL variable may take (SMART `fhirBaseUrl`): the servers the client is registered with. */
  readonly issuers: readonly string[];
  /** Further https origins discovered endpoints may sit on (an authorization server beside its FHIR server). */
  readonly origins: readonly string[];
}

export const noEndpointRegistration: EndpointRegistration = Object.freeze({ issuers: [], origins: [] });

export interface EndpointBoundary {
  readonly provider: string;
  /** Every URL template the broker fills from a connection config and then calls or sends a browser to. */
  readonly urlTemplates: readonly string[];
  /** The provider's API base (the proxy's only destination), filled from a connection's config and metadata. */
  readonly apiTemplates: readonly string[];
  /** https origins any request may go to: the definition's fixed hosts and the registration's. */
  readonly origins: ReadonlySet<string>;
  /** Hosts a connection may choose (`login.salesforce.com`, `*.my.salesforce.com`), for templates with a variable host. */
  readonly variableHosts: readonly string[];
  /** Exact values a base-URL variable may take. */
  readonly baseUrls: ReadonlySet<string>;
}

/** What a definition contributes to its boundary (a boundary is one too, to be widened by a registration). */
export interface BoundaryDefinition {
  readonly provider: string;
  readonly urlTemplates: readonly string[];
  readonly apiTemplates?: readonly string[];
  readonly variableHosts: readonly string[];
}

const hostnamePattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
// RFC 3986 unreserved characters: a value that stays one path segment or query value, whatever it holds.
const componentPattern = /^[A-Za-z0-9._~-]{1,256}$/;

/** `host` or `*.domain` (any host below the domain); lower case, no port. */
export function isVariableHostPattern(pattern: string): boolean {
  const host = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  return hostnamePattern.test(host) && host.includes('.');
}

function matchesVariableHost(pattern: string, hostname: string): boolean {
  if (!pattern.startsWith('*.')) return hostname === pattern;
  const suffix = pattern.slice(1);
  return hostname.endsWith(suffix) && hostname.length > suffix.length;
}

/** The origin a template always names, or undefined when a variable chooses it. */
function fixedOrigin(template: string): string | undefined {
  const [, scheme, authority] = /^(https?):\/\/([^/?#]*)/.exec(template) ?? [];
  if (scheme === undefined || authority === undefined || authority.includes('{')) return undefined;
  return new URL(`${scheme}://${authority}`).origin;
}

export function createEndpointBoundary(definition: BoundaryDefinition, registration: EndpointRegistration = noEndpointRegistration): EndpointBoundary {
  const origins = new Set<string>();
  const apiTemplates = definition.apiTemplates ?? [];
  for (const template of [...definition.urlTemplates, ...apiTemplates]) {
    const origin = fixedOrigin(template);
    if (origin !== undefined) origins.add(origin);
  }
  for (const issuer of registration.issuers) origins.add(new URL(issuer).origin);
  for (const origin of registration.origins) origins.add(origin);
  return Object.freeze({
    provider: definition.provider,
    urlTemplates: Object.freeze([...definition.urlTemplates]),
    apiTemplates: Object.freeze([...apiTemplates]),
    origins,
    variableHosts: Object.freeze([...definition.variableHosts]),
    baseUrls: new Set(registration.issuers),
  });
}

/** Whether the boundary lets the broker call (or send a browser to) this production URL. */
export function isAllowedEndpoint(boundary: EndpointBoundary, url: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  if (!isHttpsOrLoopbackHttp(parsed) || parsed.username !== '' || parsed.password !== '') return false;
  if (boundary.origins.has(parsed.origin)) return true;
  // Hosts a connection may choose are reached over https only.
  return parsed.protocol === 'https:' && parsed.port === '' && boundary.variableHosts.some((pattern) => matchesVariableHost(pattern, parsed.hostname));
}

/** Whether a definition's endpoints open with a base-URL variable, whose allowed values only a registration can list. */
export function takesBaseUrl(boundary: Pick<EndpointBoundary, 'urlTemplates'>): boolean {
  return boundary.urlTemplates.some((template) => [...templateVariablePositions(template).values()].includes('base_url'));
}

function acceptsValue(boundary: EndpointBoundary, position: TemplatePosition, value: string): boolean {
  if (position === 'base_url') return boundary.baseUrls.has(value);
  if (position === 'host') return hostnamePattern.test(value);
  return componentPattern.test(value) && value !== '.' && value !== '..';
}

/**
 * The connection config fields a URL template would send outside the boundary: a value that does not fit its
 * position, or (all fitting) a filled URL on a host the boundary does not allow. `trusted` values (the token, the
 * client id) are not the caller's to choose and are not judged.
 */
function refusedFields(
  boundary: EndpointBoundary,
  template: string,
  connectionConfig: Readonly<Record<string, string>>,
  trusted: Readonly<Record<string, string>>,
): string[] {
  const chosen = [...templateVariablePositions(template)].filter(([name]) => !(name in trusted));
  const misfits = chosen.filter(([name, position]) => {
    const value = connectionConfig[name];
    return value !== undefined && !acceptsValue(boundary, position, value);
  });
  if (misfits.length > 0) return misfits.map(([name]) => name);
  if (chosen.some(([name]) => connectionConfig[name] === undefined)) return [];
  return isAllowedEndpoint(boundary, expandTemplate(template, { ...connectionConfig, ...trusted })) ? [] : chosen.map(([name]) => name);
}

function endpointRefused(boundary: EndpointBoundary, fields: readonly string[]): BrokerError {
  return new BrokerError('invalid_connection_config', 'The connection config points an endpoint outside what this broker may call', {
    details: { provider: boundary.provider, fields: [...new Set(fields)], reason: 'endpoint_not_allowed' },
  });
}

// Values that only fill the shape of a template when judging a config alone; never sent anywhere.
const templateShapeValues = { token: 'token', clientId: 'client' } as const;

/** Refuses (400 `invalid_connection_config`, naming the fields) a config that would point any endpoint outside the boundary. */
export function requireConfigInsideBoundary(boundary: EndpointBoundary, connectionConfig: Readonly<Record<string, string>>): void {
  const fields = boundary.urlTemplates.flatMap((template) => refusedFields(boundary, template, connectionConfig, templateShapeValues));
  if (fields.length > 0) throw endpointRefused(boundary, fields);
}

/** Fills a URL template, refusing before any request a config value that would lead outside the boundary. */
export function expandEndpoint(
  boundary: EndpointBoundary,
  template: string,
  connectionConfig: Readonly<Record<string, string>>,
  trusted: Readonly<Record<string, string>> = {},
): string {
  const fields = refusedFields(boundary, template, connectionConfig, trusted);
  if (fields.length > 0) throw endpointRefused(boundary, fields);
  return expandTemplate(template, { ...connectionConfig, ...trusted });
}

/**
 * Refuses a URL the provider handed us (a discovery document's endpoints) or any request about to be sent, when it
 * is outside the boundary: the provider's answer is what is wrong, so it is a `provider_error`.
 */
export function requireAllowedEndpoint(boundary: EndpointBoundary, url: string): void {
  if (isAllowedEndpoint(boundary, url)) return;
  const origin = URL.canParse(url) ? new URL(url).origin : '(not a URL)';
  throw new BrokerError('provider_error', 'The provider named an endpoint outside the hosts this broker may call', {
    details: { provider: boundary.provider, reason: 'endpoint_not_allowed', origin },
  });
}

/** A bare https origin (`https://acme.my.salesforce.com`): what a provider-named instance URL must be. */
function isBareOrigin(value: string): boolean {
  return URL.canParse(value) && new URL(value).origin === value;
}

/**
 * The API base the proxy forwards to, filled from a connection's config and metadata, refused (`provider_error`) before
 * any request when it would leave the boundary. A base-URL variable holds a registered server (SMART's `fhirBaseUrl`) or
 * a bare origin on a host the boundary allows (Salesforce's `instance_url`, which the provider itself named); a host
 * variable a host name; any other variable one path segment. The filled base must then be inside the boundary too.
 */
export function expandApiBase(boundary: EndpointBoundary, template: string, values: Readonly<Record<string, string>>): URL {
  const refused = [...templateVariablePositions(template)].filter(([name, position]) => {
    const value = values[name];
    if (value === undefined || value === '') return false;
    if (position === 'base_url') return !(boundary.baseUrls.has(value) || (isBareOrigin(value) && isAllowedEndpoint(boundary, value)));
    return !acceptsValue(boundary, position, value);
  });
  const missing = templateVariables(template).filter((name) => values[name] === undefined || values[name] === '');
  if (missing.length > 0) {
    throw new BrokerError('proxy_not_supported', 'The connection lacks what its provider\'s API address needs: reconnect it', {
      details: { provider: boundary.provider, reason: 'missing_connection_metadata', fields: missing },
    });
  }
  const filled = refused.length === 0 ? expandTemplate(template, values) : '';
  if (refused.length > 0 || !isAllowedEndpoint(boundary, filled)) {
    throw new BrokerError('provider_error', 'The connection names an API address outside the hosts this broker may call', {
      details: { provider: boundary.provider, reason: 'endpoint_not_allowed', fields: refused.map(([name]) => name) },
    });
  }
  return new URL(filled);
}
