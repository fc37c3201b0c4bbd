// The shape of a plain OAuth 2.0 provider defined entirely as data (OAUTH2_PROVIDERS, OAUTH2_PROVIDERS_FILE, the
// provider catalog folder): endpoints, scopes, PKCE, client authentication, formats, refresh, identity by JSON pointer.
// Plain JSON, so an operator or a catalog file can say it; the pieces shared with TypeScript definitions live here too.
import { z } from 'zod';
import { isHttpsOrLoopbackHttp } from './loopback-url.js';
import { authorizationParamsSchema } from './oidc-provider-settings.js';

export const pkceSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('S256'), required: z.boolean().default(false) }).strict(),
  // A provider without PKCE must say why, so the choice is visible in review and in tests.
  z.object({ method: z.literal('none'), reason: z.string().min(20) }).strict(),
]);

export const noExpiryPolicySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('assume-lifetime'), seconds: z.number().int().min(60) }).strict(),
  z.object({ kind: z.literal('refresh-every'), seconds: z.number().int().min(60) }).strict(),
  z
    .object({ kind: z.literal('never-expires-until-revoked'), healthCheckEverySeconds: z.number().int().min(60) })
    .strict(),
]);

export const refreshSchema = z.discriminatedUnion('supported', [
  z
    .object({
      supported: z.literal(true),
      rotates: z.enum(['always', 'sometimes', 'never']),
      /** Error codes that mean the grant is dead and only the user can fix it. */
      deadGrantErrors: z.array(z.string().min(1)).min(1),
      /** Microsoft wants the scope repeated on refresh. */
      sendScope: z.boolean().default(false),
      /**
       * How long the provider documents a rotated-out refresh token to stay usable (Atlassian's leeway, Auth0's reuse
       * interval, Okta's grace period). A refresh whose stored token is refused then gets one retry with the previous
       * token. Absent: no documented grace, no retry (Google and Microsoft do not rotate-and-invalidate at all).
       */
      reuseGraceSeconds: z.number().int().min(1).max(86_400).optional(),
    })
    .strict(),
  z.object({ supported: z.literal(false), reason: z.string().min(10) }).strict(),
]);

/**
 * How a grant asks for a refresh token, so one that asked and came without is reported at once
 * (`connected_without_refresh`) instead of dying at its first refresh.
 */
export const offlineAccessSchema = z
  .object({
    /** The scope that asks for it (`offline_access`); absent: every authorization code grant should bring one. */
    scope: z.string().min(1).optional(),
    /**
     * OpenID Connect Core §11: a provider may ignore `offline_access` unless the request has `prompt=consent`.
     * True sends it with that scope, unless authorizationParams already choose a prompt.
     */
    promptConsent: z.boolean().default(false),
  })
  .strict();

/** How long one proxied API call may wait for the provider's answer (its headers), unless the provider says otherwise. */
export const DEFAULT_API_TIMEOUT_SECONDS = 30;
export const apiTimeoutSecondsSchema = z.number().int().min(1).max(300).default(DEFAULT_API_TIMEOUT_SECONDS);

/** A base URL the proxy appends paths to: no query, fragment or trailing slash. */
export function isApiBaseShape(value: string): boolean {
  return !/[?#]/.test(value) && !value.endsWith('/');
}

/** An endpoint of a data-defined provider: a fixed https URL (http only on loopback), no template, no credentials. */
const endpointUrl = z.string().refine((value) => {
  if (!URL.canParse(value) || value.includes('{')) return false;
  const url = new URL(value);
  return isHttpsOrLoopbackHttp(url) && url.username === '' && url.password === '' && url.hash === '';
}, 'must be an https URL (http only on loopback) without credentials, fragment or template variables');

/** RFC 6901: `/data/id` reads `{"data": {"id": ...}}`; `~1` is a slash and `~0` a tilde inside a name. */
const jsonPointer = z.string().regex(/^(\/([^~/]|~[01])*)+$/, 'must be a JSON pointer such as /data/id');

const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token');
const headerName = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a header name');
// Values of headers and parameters are sent as they are: no template variables, no secrets from here.
const plainValue = z.string().min(1).max(512).regex(/^[^{}\r\n]*$/, 'must be a plain value (no template braces or line breaks)');
// A GraphQL query keeps its braces, but `{name}` would read as a template variable: selections need a space inside.
const identityBodyValue = z
  .string()
  .min(1)
  .max(2000)
  .regex(/^[^\r\n]*$/, 'must be one line')
  .refine((value) => !/\{[A-Za-z][A-Za-z0-9]*\}/.test(value), 'must not contain {name}: write GraphQL selections with spaces inside the braces, as { viewer { id } }');

/** Parameters the broker sets itself on the token request. */
const reservedTokenParams = ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'client_id', 'client_secret', 'scope'];
const reservedHeaders = ['authorization', 'content-type', 'content-length', 'host'];

export const oauth2ProviderSettingsSchema = z
  .object({
    /** The provider id callers use; lower_snake_case like the built-in ones, and unique in the catalog. */
    id: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, 'must be lower_snake_case, 2-40 characters'),
    displayName: z.string().min(1).max(80),
    /** The provider's own documentation pages each fact was checked against. */
    sources: z.array(z.url({ protocol: /^https$/ })).default([]),
    authorizationUrl: endpointUrl,
    tokenUrl: endpointUrl,
    scopes: z
      .object({
        /** `null`: the provider takes no scope parameter. */
        separator: z.enum([' ', ',']).nullable().default(' '),
        /** How the token response lists granted scopes, when it differs. */
        responseSeparator: z.enum([' ', ',']).optional(),
        /** Asked for on every connect. */
        defaults: z.array(scopeToken).default([]),
        /** What a caller may add: `any` scope token, `none`, or exactly these. */
        allowed: z.union([z.enum(['any', 'none']), z.array(scopeToken).min(1)]).default('any'),
      })
      .strict()
      .default({ separator: ' ', defaults: [], allowed: 'any' }),
    pkce: pkceSchema,
    clientAuthentication: z.enum(['client_secret_basic', 'client_secret_post']),
    tokenRequest: z
      .object({
        bodyFormat: z.enum(['form', 'json']).default('form'),
        responseFormat: z.enum(['json', 'form']).default('json'),
        extraHeaders: z
          .record(headerName, plainValue)
          .refine((headers) => !Object.keys(headers).some((name) => reservedHeaders.includes(name.toLowerCase())), `must not set ${reservedHeaders.join(', ')}`)
          .default({}),
        /** Sent with every token request (`audience`, `resource`...). */
        extraParams: z
          .record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a lower_snake_case parameter name'), plainValue)
          .refine((params) => !Object.keys(params).some((name) => reservedTokenParams.includes(name)), `must not set ${reservedTokenParams.join(', ')}: the broker sets those`)
          .default({}),
      })
      .strict()
      .default({ bodyFormat: 'form', responseFormat: 'json', extraHeaders: {}, extraParams: {} }),
    /** Sent with every authorization request (`access_type`, `prompt`, `duration`...). */
    authorizationParams: authorizationParamsSchema.default({}),
    offlineAccess: offlineAccessSchema.optional(),
    refresh: refreshSchema,
    /** What a token reply without `expires_in` means. */
    whenNoExpiresIn: noExpiryPolicySchema,
    revocation: z.discriminatedUnion('kind', [
      z
        .object({
          /** RFC 7009, or an endpoint that takes the same form. */
          kind: z.literal('rfc7009'),
          url: endpointUrl,
          token: z.enum(['refresh_token_else_access_token', 'access_token']).default('refresh_token_else_access_token'),
          sendTokenTypeHint: z.boolean().default(true),
          clientAuthentication: z.enum(['client_secret_basic', 'client_secret_post', 'none']),
          bodyFormat: z.enum(['form', 'json']).default('form'),
        })
        .strict(),
      z.object({ kind: z.literal('none'), reason: z.string().min(10) }).strict(),
    ]),
    /** The cheap call that names the account (and later proves the grant still works), read by JSON pointers. */
    identity: z
      .object({
        url: endpointUrl,
        method: z.enum(['GET', 'POST']).default('GET'),
        headers: z
          .record(headerName, plainValue)
          .refine((headers) => !Object.keys(headers).some((name) => reservedHeaders.includes(name.toLowerCase())), `must not set ${reservedHeaders.join(', ')}`)
          .default({}),
        /**
         * A JSON body for a POST identity call: a provider whose only identity is GraphQL (Linear, monday.com) gets
         * `{"query": "{ viewer { id name email } }"}`. Sent as written, with the Bearer token.
         */
        body: z.record(z.string().regex(/^[a-z][A-Za-z0-9_]{0,63}$/, 'must be a field name such as query'), identityBodyValue).optional(),
        /** The account id: a string or a number in the reply. */
        accountId: jsonPointer,
        /** Display name, then email: the first that is a non-empty string names the account. */
        displayName: jsonPointer.optional(),
        email: jsonPointer.optional(),
      })
      .strict()
      .refine((identity) => identity.body === undefined || identity.method === 'POST', { message: 'a body needs method POST', path: ['body'] }),
    /** The provider's own API, for the proxy function: callers' paths are appended to `baseUrl`, and nothing else is called. */
    api: z
      .object({
        baseUrl: endpointUrl.refine(isApiBaseShape, 'must have no query and no trailing slash'),
        timeoutSeconds: apiTimeoutSecondsSchema,
      })
      .strict()
      .optional(),
  })
  .strict();
export type OAuth2ProviderSettings = z.input<typeof oauth2ProviderSettingsSchema>;
export type ParsedOAuth2ProviderSettings = z.output<typeof oauth2ProviderSettingsSchema>;

export const oauth2ProvidersSchema = z.array(oauth2ProviderSettingsSchema).refine(
  (providers) => new Set(providers.map((p) => p.id)).size === providers.length,
  'ids must be unique',
);
