// The one schema every provider definition must pass at load time, quirk hooks included, each beside what it serves.
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

export const tokenGrants = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type TokenGrant = (typeof tokenGrants)[number];

/** What a token-reply hook is told besides the reply: which grant answered, for which connection. */
export interface TokenHookContext {
  readonly connectionConfig: Readonly<Record<string, string>>;
  readonly grant: TokenGrant;
}

/** Non-secret per-connection facts a hook may report; keys must be declared in metadataKeys (checked at run time). */
const hookMetadataSchema = z.record(z.string(), z.string().optional());

export const accountFactsSchema = z.object({ accountId: z.string().min(1), displayName: z.string().min(1).optional() }).strict();
export type AccountFacts = z.infer<typeof accountFactsSchema>;

export const identityFactsSchema = accountFactsSchema.extend({ metadata: hookMetadataSchema.optional() }).strict();
export type IdentityFacts = z.input<typeof identityFactsSchema>;

/** One reading of a token reply: its RFC 6749 §5.1 fields, the metadata it carries and the account it names. */
export const tokenReplyReadingSchema = z
  .object({
    /** The reply mapped onto RFC 6749 fields (Slack `authed_user`); omitted: the reply already has them. */
    fields: z.unknown().optional(),
    /** Salesforce `instance_url`, Slack team, Notion workspace... */
    metadata: hookMetadataSchema.default({}),
    /** The account, when the reply already names it (Slack team, Notion bot, Salesforce `id` URL). */
    account: accountFactsSchema.optional(),
  })
  .strict();
export type TokenReplyReading = z.input<typeof tokenReplyReadingSchema>;

/**
 * A quirk hook, kept beside the part of the definition it serves. The schema checks it is a function; the generic
 * code validates what it returns, so a hook cannot smuggle an unchecked shape past the schema.
 */
function hook<F extends (...args: never[]) => unknown>() {
  return z.custom<F>((value) => typeof value === 'function', 'must be a function');
}

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
      /** Named calls; their parsed bodies are handed to `parse` together. */
      requests: z.array(z.object({ name: z.string().min(1), request: providerRequestSchema }).strict()).min(1),
      /** The account from the replies, keyed by request name; `metadata` is what is already known (Salesforce instance). */
      parse: hook<(replies: Readonly<Record<string, unknown>>, context: { metadata: Readonly<Record<string, string>> }) => IdentityFacts>(),
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

/** Endpoint templates written in the definition; OAuth 1.0a adds its request token endpoint. */
const fixedEndpointsSchema = z
  .object({
    /** Absent: the tag that tells written endpoints from discovered ones. */
    discovery: z.undefined().optional(),
    authorization: urlTemplate,
    token: urlTemplate,
  })
  .strict();

/** Endpoints read from the server's metadata document: OpenID Connect, RFC 8414, or SMART's smart-configuration. */
const discoveredEndpointsSchema = z
  .object({
    discovery: z.enum(['oidc', 'oauth', 'smart']),
    /** The issuer identifier (or SMART FHIR base URL); the document's `issuer` must equal it exactly. */
    issuer: urlTemplate,
  })
  .strict();

/** A section one protocol cannot have: declared (as `undefined`) so every variant reads alike, refused with the reason. */
function absent(reason: string) {
  return z.undefined(reason).optional();
}

/** What every definition carries, whatever its protocol. */
const commonFields = {
  id: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, 'must be lower_snake_case'),
  displayName: z.string().min(1),
  /** Validates the per-connection config (login host, tenant, FHIR base URL...); strict object. */
  connectionConfigSchema: connectionConfigObject,
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
      /** The scope parameter name, when the connection config chooses it (Slack `scope` vs `user_scope`). */
      parameter: hook<(connectionConfig: Readonly<Record<string, string>>) => string>().optional(),
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
      /** Reads a quirky reply once (validated with tokenReplyReadingSchema); omitted: the reply is RFC 6749 as it stands. */
      readReply: hook<(reply: unknown, context: TokenHookContext) => TokenReplyReading>().optional(),
    })
    .strict(),
  /** Fixed extra authorization parameters; values may use connection config variables. */
  authorizationParams: z.record(z.string(), z.string()).default({}),
  /** How a grant asks for a refresh token (see offlineAccessSchema). */
  offlineAccess: offlineAccessSchema.optional(),
  /** RFC 9207: the issuer the authorization response's `iss` must equal, and whether it is always sent. */
  issuer: z
    .object({
      expected: urlTemplate,
      authorizationResponseIss: z.enum(['always', 'never']),
      /** The id_token issuer when it differs per user's tenant (Microsoft `common`): read from the checked claims. */
      idTokenIssuer: hook<(claims: Readonly<Record<string, unknown>>, connectionConfig: Readonly<Record<string, string>>) => string>().optional(),
    })
    .strict()
    .optional(),
  /** Whether the token response carries an OIDC id_token we read (claims checked, see token-response). */
  idToken: z.enum(['expected', 'none']).default('none'),
  refresh: refreshSchema,
  whenNoExpiresIn: noExpiryPolicySchema,
  revocation: revocationSchema,
  identity: identitySchema,
  apiKey: apiKeySchema.optional(),
  /** Every metadata key hooks may produce; anything else is rejected at run time. */
  metadataKeys: z.array(z.string().regex(/^[a-z][a-zA-Z0-9_]*$/)).default([]),
  /** The provider's documentation pages the definition's facts were checked against. */
  sources: z.array(z.string().url()).default([]),
  /** Why this definition is shaped the way it is, for facts the public docs leave open. */
  decisions: z.array(z.string().min(10)).default([]),
  /** An error reported in a 2xx body of any reply, token, identity or revocation (Slack `ok:false`, GitHub `error`): its code. */
  errorInSuccessBody: hook<(body: unknown) => string | undefined>().optional(),
};

const oauth2DefinitionSchema = z
  .object({
    ...commonFields,
    protocol: z.literal('oauth2'),
    /** Written here, or discovered: `discovery` names the metadata document, absent for fixed endpoints. */
    endpoints: z.discriminatedUnion('discovery', [fixedEndpointsSchema, discoveredEndpointsSchema], {
      error: (issue) => (issue.code === 'invalid_union' ? 'must be oidc, oauth or smart (or absent for fixed endpoints)' : undefined),
    }),
    clientCredentials: clientCredentialsSchema.optional(),
    api: apiSchema.optional(),
  })
  .strict();

/** RFC 5849: fixed endpoints, the temporary-credentials one included, and none of the OAuth 2.0-only sections. */
const oauth1aDefinitionSchema = z
  .object({
    ...commonFields,
    protocol: z.literal('oauth1a'),
    endpoints: fixedEndpointsSchema.extend({ discovery: absent('OAuth 1.0a has no discovery: write the endpoints'), requestToken: urlTemplate }),
    clientCredentials: absent('clientCredentials needs protocol oauth2'),
    api: absent('api needs protocol oauth2 (OAuth 1.0a calls are signed per request)'),
  })
  .strict();

export const providerDefinitionSchema = z
  .discriminatedUnion('protocol', [oauth2DefinitionSchema, oauth1aDefinitionSchema], {
    error: (issue) => (issue.code === 'invalid_union' ? 'must be oauth2 or oauth1a' : undefined),
  })
  // What is left relates one section to another, which a shape cannot say without restating it: userinfo and an
  // id_token need an issuer, which discovery gives, but the endpoint source is a tag inside `endpoints`, and zod
  // dispatches only on a top-level tag (one would repeat in every OAuth 2.0 definition what `endpoints` says). The
  // rest compare contents: apiKey with the identity requests, clientCredentials with the readReply hook and
  // metadataKeys, template variables with the connection config schema, variable hosts with variableHosts.
  .superRefine((definition, context) => {
    const discovered = definition.endpoints.discovery !== undefined;
    if (definition.idToken === 'expected' && definition.issuer === undefined && !discovered) {
      context.addIssue({ code: 'custom', message: 'an id_token needs an expected issuer or discovery' });
    }
    if (definition.identity.kind === 'oidc-userinfo' && !discovered) {
      context.addIssue({ code: 'custom', message: 'oidc-userinfo identity needs discovery' });
    }
    if (definition.apiKey !== undefined) {
      const bearerIdentity =
        definition.identity.kind === 'requests' && definition.identity.requests.every(({ request }) => request.bearer === 'access_token');
      if (!bearerIdentity) context.addIssue({ code: 'custom', message: 'apiKey needs identity requests that carry the key as their Bearer token' });
    }
    const cc = definition.clientCredentials;
    if (cc !== undefined) {
      if (cc.account.kind === 'token-response' && definition.tokenRequest.readReply === undefined) {
        context.addIssue({ code: 'custom', message: 'clientCredentials.account token-response needs a tokenRequest.readReply hook' });
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

export type ProviderDefinitionInput = z.input<typeof providerDefinitionSchema>;
type ParsedDefinition = z.output<typeof providerDefinitionSchema>;
/**
 * A validated definition. `endpointBoundary` is where its requests may go: derived from the definition, widened only
 * by the catalog with what the operator registered (registry.ts).
 */
export type ProviderDefinition = ParsedDefinition & { readonly endpointBoundary: EndpointBoundary };

function clientCredentialsTemplates(definition: ParsedDefinition): string[] {
  const cc = definition.clientCredentials;
  if (cc === undefined) return [];
  return [
    cc.tokenUrl ?? (definition.endpoints.discovery === undefined ? definition.endpoints.token : ''),
    ...Object.values(cc.params),
    ...Object.values(cc.metadata),
    ...(cc.account.kind === 'connection-config' ? [cc.account.template] : []),
  ].filter((template) => template !== '');
}

/** The URLs of user connections the broker fills from a connection config, then calls or sends a browser to. */
function connectionUrlTemplates(definition: ParsedDefinition): string[] {
  const templates: string[] = [];
  const endpoints = definition.endpoints;
  if (endpoints.discovery === undefined) templates.push(...Object.values(endpoints).filter((template) => template !== undefined));
  else templates.push(endpoints.issuer);
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
  return Object.freeze({ ...parsed.data, endpointBoundary });
}
