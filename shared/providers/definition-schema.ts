// The one schema every provider definition must pass at load time, and the typed quirk hooks it may carry.
import { z } from 'zod';
import { apiTimeoutSecondsSchema, isApiBaseShape, noExpiryPolicySchema, offlineAccessSchema, pkceSchema, refreshSchema } from '../config/oauth2-provider-settings.js';
import { createEndpointBoundary, type EndpointBoundary, isVariableHostPattern } from './endpoint-boundary.js';
import { isSecureUrlTemplate, templateVariablePositions, templateVariables } from './url-template.js';

const urlTemplate = z.string().refine(isSecureUrlTemplate, 'must be an absolute https URL (http only on a loopback host; template variables allowed)');

export const clientAuthenticationMethods = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type ClientAuthenticationMethod = (typeof clientAuthenticationMethods)[number];

/** A request a provider hook asks the generic code to make (revocation and identity calls). */
export const providerRequestSchema = z
  .object({
    method: z.enum(['GET', 'POST', 'DELETE']),
    url: urlTemplate,
    /** How the token travels: as a Bearer header, or not at all (e.g. it is in the body or the URL). */
    bearer: z.enum(['access_token', 'none']),
    /** Client credentials as HTTP Basic (GitHub's and Notion's revocation calls). */
    basicClientAuth: z.boolean().default(false),
    headers: z.record(z.string(), z.string()).default({}),
    /** Body fields; the literal `{token}` is replaced by the token the call is about. */
    body: z
      .object({ format: z.enum(['form', 'json']), fields: z.record(z.string(), z.string()) })
      .optional(),
  })
  .strict();
export type ProviderRequest = z.input<typeof providerRequestSchema>;

/** RFC 6749 §5.1 fields, the shape every quirky token response is normalized into before validation. */
export interface StandardTokenFields {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  id_token?: string;
}

export interface TokenHookContext {
  readonly connectionConfig: Readonly<Record<string, string>>;
  readonly grant: 'authorization_code' | 'refresh_token' | 'client_credentials';
}

export interface AccountFacts {
  readonly accountId: string;
  readonly displayName?: string;
}

export interface IdentityFacts extends AccountFacts {
  readonly metadata?: Readonly<Record<string, string | undefined>>;
}

/**
 * Quirks, each in the provider's own file. Each hook returns plain data that the generic code validates,
 * so a hook cannot smuggle an unchecked shape past the schema.
 */
export interface ProviderHooks {
  /** An error reported in a 2xx body (Slack `ok:false`, GitHub `error` on HTTP 200): its error code. */
  errorInSuccessBody?(body: unknown): string | undefined;
  /** Maps the provider's token response onto RFC 6749 fields (Slack `authed_user`, numbers as strings...). */
  normalizeTokenResponse?(body: unknown, context: TokenHookContext): unknown;
  /** Non-secret per-connection facts carried by the token response (Salesforce `instance_url`, Slack team). */
  metadataFromTokenResponse?(body: unknown, context: TokenHookContext): Readonly<Record<string, string | undefined>>;
  /** The account, when the token response already names it (Slack team, Notion bot, Salesforce `id` URL). */
  accountFromTokenResponse?(body: unknown, context: TokenHookContext): AccountFacts | undefined;
  /** The account from the identity call(s), keyed by the request names of `identity.requests`. */
  parseIdentity?(responses: Readonly<Record<string, unknown>>, context: { metadata: Readonly<Record<string, string>> }): IdentityFacts;
  /** The id_token issuer to expect, when it differs per tenant (Microsoft `common`). */
  expectedIdTokenIssuer?(claims: Readonly<Record<string, unknown>>, connectionConfig: Readonly<Record<string, string>>): string;
  /** The scope parameter name, when the connection config chooses it (Slack `scope` vs `user_scope`). */
  scopeParameter?(connectionConfig: Readonly<Record<string, string>>): string;
}

const hookNames = [
  'errorInSuccessBody',
  'normalizeTokenResponse',
  'metadataFromTokenResponse',
  'accountFromTokenResponse',
  'parseIdentity',
  'expectedIdTokenIssuer',
  'scopeParameter',
] as const satisfies readonly (keyof ProviderHooks)[];

const hooksSchema = z
  .object(Object.fromEntries(hookNames.map((name) => [name, z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function').optional()])))
  .strict();

const connectionConfigObject = z.custom<z.ZodObject>((value) => value instanceof z.ZodObject, 'must be a zod object schema');

const allowedScopesSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('list'), values: z.array(z.string().min(1)).min(1) }).strict(),
  z.object({ kind: z.literal('pattern'), pattern: z.instanceof(RegExp) }).strict(),
  z.object({ kind: z.literal('none') }).strict(),
]);

/**
 * App-only tokens (RFC 6749 §4.4) for tenant-level connections: the same token endpoint unless said otherwise,
 * often with a stricter connection config (a specific tenant, a My Domain host) and scopes of their own.
 */
const clientCredentialsSchema = z
  .object({
    /** Replaces the provider's connection config schema for app-only connections. */
    connectionConfigSchema: connectionConfigObject.optional(),
    /** Defaults to the provider's token endpoint. */
    tokenUrl: urlTemplate.optional(),
    clientAuthentication: z.enum(['client_secret_basic', 'client_secret_post']),
    /** Omitted: the grant sends no scope (the app registration decides, as with Salesforce). */
    scopes: z.object({ defaults: z.array(z.string().min(1)), allowed: allowedScopesSchema }).strict().optional(),
    /** Extra body parameters; values may use connection config variables. */
    params: z.record(z.string(), z.string()).default({}),
    /** Who the app-only connection belongs to: a connection config value (a tenant) or the token reply (hook). */
    account: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('connection-config'), template: z.string().min(1) }).strict(),
      z.object({ kind: z.literal('token-response') }).strict(),
    ]),
    /** Metadata templates filled from the connection config (keys must be in metadataKeys). */
    metadata: z.record(z.string(), z.string()).default({}),
  })
  .strict();

/** Long-lived keys a user pastes instead of running OAuth (HubSpot private app tokens, Notion internal integrations). */
const apiKeySchema = z
  .object({
    /** What the provider calls it, for the connect page and error messages. */
    label: z.string().min(3),
    /** The shape a key must have, so a wrong paste is refused before any call (and never echoed). */
    format: z.instanceof(RegExp),
    /** How the key travels: as the Bearer token of the identity calls, which prove it works and name the account. */
    placement: z.literal('bearer'),
    /** Keys do not expire: how often a health check should prove one still works. */
    healthCheckEverySeconds: z.number().int().min(60),
  })
  .strict();

const revocationSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('rfc7009'),
      /** `discovered`: the `revocation_endpoint` of the provider's metadata document. */
      url: z.union([z.literal('discovered'), urlTemplate]),
      /** Which stored token to send: revoking the refresh token usually kills its access tokens too. */
      token: z.enum(['refresh_token_else_access_token', 'access_token']),
      sendTokenTypeHint: z.boolean(),
      clientAuthentication: z.enum(clientAuthenticationMethods),
      bodyFormat: z.enum(['form', 'json']).default('form'),
      extraHeaders: z.record(z.string(), z.string()).default({}),
    })
    .strict(),
  z
    .object({
      kind: z.literal('provider-call'),
      token: z.enum(['refresh_token_else_access_token', 'access_token']),
      request: providerRequestSchema,
      /** Statuses (besides 2xx) meaning "already gone" — success for a disconnect. */
      alreadyRevokedStatuses: z.array(z.number().int()).default([]),
    })
    .strict(),
  z.object({ kind: z.literal('none'), reason: z.string().min(10) }).strict(),
]);

const identitySchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('requests'),
      /** Named calls; their parsed bodies are handed to `parseIdentity` together. */
      requests: z.array(z.object({ name: z.string().min(1), request: providerRequestSchema }).strict()).min(1),
    })
    .strict(),
  // Standards-compliant providers: the OIDC userinfo endpoint from discovery, read by `sub`/`name`/`email`.
  z.object({ kind: z.literal('oidc-userinfo') }).strict(),
]);

/**
 * The provider's own API, where the proxy function forwards callers' requests. `baseUrl` may use connection config and
 * metadata variables where the API host is per connection (Salesforce `{instanceUrl}`, Atlassian `{cloudId}`, SMART
 * `{fhirBaseUrl}`); its fixed origin joins the endpoint boundary like every other endpoint.
 */
const apiSchema = z
  .object({
    baseUrl: urlTemplate.refine(isApiBaseShape, 'must have no query and no trailing slash'),
    timeoutSeconds: apiTimeoutSecondsSchema,
  })
  .strict();

const endpointsSchema = z
  .object({
    authorization: urlTemplate,
    token: urlTemplate,
    /** OAuth 1.0a only. */
    requestToken: urlTemplate.optional(),
  })
  .strict();

const discoverySchema = z
  .object({
    kind: z.enum(['oidc', 'oauth', 'smart']),
    /** The issuer identifier (or SMART FHIR base URL); the document's `issuer` must equal it exactly. */
    issuer: urlTemplate,
  })
  .strict();

export const providerDefinitionSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, 'must be lower_snake_case'),
    displayName: z.string().min(1),
    protocol: z.enum(['oauth2', 'oauth1a']),
    /** Validates the per-connection config (login host, tenant, FHIR base URL...); strict object. */
    connectionConfigSchema: connectionConfigObject,
    endpoints: endpointsSchema.optional(),
    discovery: discoverySchema.optional(),
    /**
     * Hosts a connection may choose where an endpoint template has a variable host (`https://{loginHost}/...`):
     * exact hosts or `*.domain`. Every request is checked against them, whatever the config schema let through.
     */
    variableHosts: z.array(z.string().refine(isVariableHostPattern, 'must be a lower-case host or *.domain')).default([]),
    scopes: z
      .object({
        /** `null`: the provider takes no scope parameter (Notion, GitHub Apps). */
        separator: z.enum([' ', ',']).nullable(),
        /** How the token response lists granted scopes, when it differs (GitHub answers with commas). */
        responseSeparator: z.enum([' ', ',']).optional(),
        defaults: z.array(z.string().min(1)),
        allowed: allowedScopesSchema,
      })
      .strict(),
    pkce: pkceSchema,
    clientAuthentication: z.enum(clientAuthenticationMethods),
    tokenRequest: z
      .object({
        bodyFormat: z.enum(['form', 'json']),
        /** GitHub answers form-encoded unless asked for JSON: this says what we ask for and parse. */
        responseFormat: z.enum(['json', 'form']).default('json'),
        extraHeaders: z.record(z.string(), z.string()).default({}),
        /** Sent with every token request; the grant's own parameters win. */
        extraParams: z.record(z.string(), z.string()).default({}),
      })
      .strict(),
    /** Fixed extra authorization parameters; values may use connection config variables. */
    authorizationParams: z.record(z.string(), z.string()).default({}),
    /** How a grant asks for a refresh token (see offlineAccessSchema). */
    offlineAccess: offlineAccessSchema.optional(),
    /** RFC 9207: the issuer the authorization response's `iss` must equal, and whether it is always sent. */
    issuer: z
      .object({ expected: urlTemplate, authorizationResponseIss: z.enum(['always', 'never']) })
      .strict()
      .optional(),
    /** Whether the token response carries an OIDC id_token we read (claims checked, see token-response). */
    idToken: z.enum(['expected', 'none']).default('none'),
    refresh: refreshSchema,
    whenNoExpiresIn: noExpiryPolicySchema,
    revocation: revocationSchema,
    identity: identitySchema,
    clientCredentials: clientCredentialsSchema.optional(),
    api: apiSchema.optional(),
    apiKey: apiKeySchema.optional(),
    /** Every metadata key hooks may produce; anything else is rejected at run time. */
    metadataKeys: z.array(z.string().regex(/^[a-z][a-zA-Z0-9_]*$/)).default([]),
    /** The provider's documentation pages the definition's facts were checked against. */
    sources: z.array(z.string().url()).default([]),
    /** Why this definition is shaped the way it is, for facts the public docs leave open. */
    decisions: z.array(z.string().min(10)).default([]),
    hooks: hooksSchema.default({}),
  })
  .strict()
  .superRefine((definition, context) => {
    if ((definition.endpoints === undefined) === (definition.discovery === undefined)) {
      context.addIssue({ code: 'custom', message: 'declare exactly one of endpoints or discovery' });
    }
    if (definition.protocol === 'oauth1a' && definition.endpoints?.requestToken === undefined) {
      context.addIssue({ code: 'custom', message: 'OAuth 1.0a needs endpoints.requestToken' });
    }
    if (definition.idToken === 'expected' && definition.issuer === undefined && definition.discovery === undefined) {
      context.addIssue({ code: 'custom', message: 'an id_token needs an expected issuer' });
    }
    if (definition.identity.kind === 'requests' && definition.hooks.parseIdentity === undefined) {
      context.addIssue({ code: 'custom', message: 'identity requests need a parseIdentity hook' });
    }
    if (definition.identity.kind === 'oidc-userinfo' && definition.discovery === undefined) {
      context.addIssue({ code: 'custom', message: 'oidc-userinfo identity needs discovery' });
    }
    if (definition.apiKey !== undefined) {
      const bearerIdentity =
        definition.identity.kind === 'requests' && definition.identity.requests.every(({ request }) => request.bearer === 'access_token');
      if (!bearerIdentity) context.addIssue({ code: 'custom', message: 'apiKey needs identity requests that carry the key as their Bearer token' });
    }
    const cc = definition.clientCredentials;
    if (cc !== undefined) {
      if (definition.protocol !== 'oauth2') context.addIssue({ code: 'custom', message: 'clientCredentials needs protocol oauth2' });
      if (cc.account.kind === 'token-response' && definition.hooks.accountFromTokenResponse === undefined) {
        context.addIssue({ code: 'custom', message: 'clientCredentials.account token-response needs an accountFromTokenResponse hook' });
      }
      for (const key of Object.keys(cc.metadata)) {
        if (!definition.metadataKeys.includes(key)) context.addIssue({ code: 'custom', message: `clientCredentials.metadata key ${key} is not in metadataKeys` });
      }
    }
    // A caller-chosen host needs the set of hosts it may name, or it could point client credentials anywhere.
    const hostVariables = urlTemplates(definition).some((template) => [...templateVariablePositions(template).values()].includes('host'));
    if (hostVariables && definition.variableHosts.length === 0) {
      context.addIssue({ code: 'custom', message: 'an endpoint template with a variable host needs variableHosts' });
    }
    // Every template variable must be a declared connection config field, checked here, not at the first call.
    checkTemplateVariables(allTemplates(definition), definition.connectionConfigSchema, context);
    if (definition.api !== undefined) {
      if (definition.protocol !== 'oauth2') context.addIssue({ code: 'custom', message: 'api needs protocol oauth2 (OAuth 1.0a calls are signed per request)' });
      // The API base may also use what the provider told us about the connection (metadata), e.g. Salesforce's instance.
      const known = new Set([...Object.keys(definition.connectionConfigSchema.shape), ...definition.metadataKeys]);
      for (const name of templateVariables(definition.api.baseUrl)) {
        if (!known.has(name)) context.addIssue({ code: 'custom', message: `api.baseUrl variable {${name}} is neither a connection config field nor a metadata key` });
      }
    }
    if (cc !== undefined) checkTemplateVariables(clientCredentialsTemplates(definition), cc.connectionConfigSchema ?? definition.connectionConfigSchema, context);
  });

function checkTemplateVariables(templates: readonly string[], schema: z.ZodObject, context: z.RefinementCtx): void {
  const declared = new Set(Object.keys(schema.shape));
  for (const template of templates) {
    for (const name of templateVariables(template)) {
      if (name === 'token' || name === 'clientId') continue;
      if (!declared.has(name)) {
        context.addIssue({ code: 'custom', message: `template variable {${name}} is not in the connection config schema` });
      }
    }
  }
}

export type ProviderDefinitionInput = Omit<z.input<typeof providerDefinitionSchema>, 'hooks'> & { hooks?: ProviderHooks };
type ParsedDefinition = z.output<typeof providerDefinitionSchema>;
/**
 * A validated definition; hooks keep their precise types. `endpointBoundary` is where its requests may go: derived
 * from the definition, widened only by the catalog with what the operator registered (registry.ts).
 */
export type ProviderDefinition = Omit<ParsedDefinition, 'hooks'> & { readonly hooks: ProviderHooks; readonly endpointBoundary: EndpointBoundary };

function clientCredentialsTemplates(definition: ParsedDefinition): string[] {
  const cc = definition.clientCredentials;
  if (cc === undefined) return [];
  return [
    cc.tokenUrl ?? definition.endpoints?.token ?? '',
    ...Object.values(cc.params),
    ...Object.values(cc.metadata),
    ...(cc.account.kind === 'connection-config' ? [cc.account.template] : []),
  ].filter((template) => template !== '');
}

/** The URLs of user connections the broker fills from a connection config, then calls or sends a browser to. */
function connectionUrlTemplates(definition: ParsedDefinition): string[] {
  const templates: string[] = [];
  if (definition.endpoints) templates.push(...Object.values(definition.endpoints).filter((v): v is string => v !== undefined));
  if (definition.discovery) templates.push(definition.discovery.issuer);
  if (definition.revocation.kind === 'rfc7009' && definition.revocation.url !== 'discovered') templates.push(definition.revocation.url);
  if (definition.revocation.kind === 'provider-call') templates.push(definition.revocation.request.url);
  if (definition.identity.kind === 'requests') templates.push(...definition.identity.requests.map(({ request }) => request.url));
  return templates;
}

/** Every URL the broker fills from a connection config and then calls or sends a browser to, app-only ones included. */
function urlTemplates(definition: ParsedDefinition): string[] {
  const tokenUrl = definition.clientCredentials?.tokenUrl;
  return [...connectionUrlTemplates(definition), ...(tokenUrl === undefined ? [] : [tokenUrl])];
}

function allTemplates(definition: ParsedDefinition): string[] {
  const requests = [
    ...(definition.revocation.kind === 'provider-call' ? [definition.revocation.request] : []),
    ...(definition.identity.kind === 'requests' ? definition.identity.requests.map(({ request }) => request) : []),
  ];
  return [
    ...Object.values(definition.authorizationParams),
    ...connectionUrlTemplates(definition),
    ...(definition.issuer ? [definition.issuer.expected] : []),
    ...requests.flatMap((request) => [...Object.values(request.headers), ...Object.values(request.body?.fields ?? {})]),
  ];
}

/** Validates a definition; throws a TypeError naming every problem (a bad definition is a programming error). */
export function defineProvider(input: ProviderDefinitionInput): ProviderDefinition {
  const parsed = providerDefinitionSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(definition)'}: ${issue.message}`);
    throw new TypeError(`provider definition ${String((input as { id?: unknown }).id)} is invalid: ${problems.join('; ')}`);
  }
  const endpointBoundary = createEndpointBoundary({
    provider: parsed.data.id,
    urlTemplates: urlTemplates(parsed.data),
    apiTemplates: parsed.data.api === undefined ? [] : [parsed.data.api.baseUrl],
    variableHosts: parsed.data.variableHosts,
  });
  return Object.freeze({ ...parsed.data, hooks: Object.freeze({ ...(input.hooks ?? {}) }), endpointBoundary }) as ProviderDefinition;
}
