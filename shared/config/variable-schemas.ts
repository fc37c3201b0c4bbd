// What one environment variable's value may be (host:port, resource names, lists, JSON), and what it is read into.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { callerPolicySchema } from './caller-policy-schema.js';
import { callerQuotasSchema } from './caller-quotas-schema.js';
import { isHttpsOrLoopbackHttp, isLoopbackHostname } from './loopback-url.js';
import { oauth2ProvidersSchema, type ParsedOAuth2ProviderSettings } from './oauth2-provider-settings.js';
import { oidcProvidersSchema } from './oidc-provider-settings.js';

/** A whole number read from its decimal text, within bounds. */
export function integer(min: number, max: number) {
  return z.coerce.number().int().min(min).max(max);
}

export const loopbackHostPort = z
  .string()
  .regex(/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{1,5}$/, 'must be a loopback host:port');

export const hostPort = z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'must be host:port');

export const kmsCryptoKeyName = z
  .string()
  .regex(
    /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/,
    'must be projects/P/locations/L/keyRings/R/cryptoKeys/K',
  );

// Terraform passes google_pubsub_topic.id, the topic's full resource name.
export const pubsubTopicName = z.string().regex(/^projects\/[^/]+\/topics\/[^/]+$/, 'must be projects/P/topics/T');

export const schedulerJobName = z.string().regex(/^projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/]+$/, 'must be projects/P/locations/L/jobs/J');

// Fetched without further checks by google-auth-library, so plain http is allowed only on loopback.
export const httpsOrLoopbackUrl = z.string().refine((value) => URL.canParse(value) && isHttpsOrLoopbackHttp(new URL(value)), 'must be an https URL, or an http URL on loopback');

export const httpsOrigin = z.string().refine((value) => URL.canParse(value) && new URL(value).protocol === 'https:' && new URL(value).origin === value, 'origins must be https origins');

export const commaSeparatedList = z
  .string()
  .regex(/^\s*[^\s,]+\s*(,\s*[^\s,]+\s*)*$/, 'must be a comma-separated list without empty items')
  .transform((value): readonly string[] => value.split(',').map((item) => item.trim()));

/**
 * A variable holding JSON that `schema` validates: the one way config reads JSON from the environment. The messages
 * say what is wrong where, never the value: a JSON setting may sit beside secrets, and loadConfig's error is logged.
 */
export function jsonVariable<T extends z.ZodType>(schema: T, describe: { readonly expected: string; readonly invalid: string }) {
  return z.string().transform((value, context): z.output<T> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      // JSON.parse's own message quotes the text, so it is not passed on.
      context.addIssue({ code: 'custom', message: `must be ${describe.expected}` });
      return z.NEVER;
    }
    const checked = schema.safeParse(parsed);
    if (!checked.success) {
      // Schema messages are fixed text, never the value, so they may say what is wrong where.
      const where = checked.error.issues.map((issue) => `${issue.path.join('.') || '(value)'}: ${issue.message}`).join(', ');
      context.addIssue({ code: 'custom', message: `has invalid ${describe.invalid} (at ${where})` });
      return z.NEVER;
    }
    return checked.data;
  });
}

// PROVIDER_ORIGIN_OVERRIDES: {"https://slack.com": "http://127.0.0.1:4010/slack.com", ...} — local sandbox only.
// Every target must be loopback, so this setting cannot send provider traffic (or client secrets) anywhere else.
export const providerOriginOverrides = jsonVariable(
  z.record(httpsOrigin, z.string().refine((target) => URL.canParse(target) && isLoopbackHostname(new URL(target).hostname), 'targets must be loopback URLs')),
  { expected: 'a JSON object of https origins to loopback URLs', invalid: 'overrides' },
).transform((overrides): ReadonlyMap<string, string> => new Map(Object.entries(overrides)));

// PROVIDER_ENDPOINT_ALLOWLIST: {"smart_on_fhir": {"issuers": ["https://fhir.example.org/r4"], "origins": [...]}} — per
// client registration, the exact servers (FHIR base URLs, issuers) a connection may name, and further https origins
// their discovered endpoints may sit on. Unset means none: a SMART connection can then name no server at all.
const httpsIssuer = z
  .string()
  .refine((value) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return url.protocol === 'https:' && url.username === '' && url.password === '' && url.search === '' && url.hash === '' && !value.endsWith('/');
  }, 'issuers must be https URLs without credentials, query, fragment or trailing slash');
export const providerEndpointAllowlist = jsonVariable(
  z.record(
    z.string().regex(/^[a-z][a-z0-9_]{1,39}$/),
    z.object({ issuers: z.array(httpsIssuer).default([]), origins: z.array(httpsOrigin).default([]) }).strict(),
  ),
  { expected: 'a JSON object of provider ids to {issuers, origins}', invalid: 'entries' },
);

// OIDC_PROVIDERS: a JSON array of standards-compliant OpenID providers, each {id, displayName, issuer, scopes?}.
export const oidcProvidersVariable = jsonVariable(oidcProvidersSchema, { expected: 'a JSON array of providers', invalid: 'providers' });

// OAUTH2_PROVIDERS: a JSON array of plain OAuth 2.0 providers defined as data (shared/config/oauth2-provider-settings.ts).
export const oauth2ProvidersVariable = jsonVariable(oauth2ProvidersSchema, { expected: 'a JSON array of providers', invalid: 'providers' });

// OAUTH2_PROVIDERS_FILE: the same JSON array in a file (a mounted secret or config volume, or a file beside npm start).
// Unset is no file, so a deployment without one need not name it.
export const oauth2ProvidersFile = z.string().default('').transform((path, context): ParsedOAuth2ProviderSettings[] => {
  if (path === '') return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    context.addIssue({ code: 'custom', message: 'names a file that cannot be read' });
    return z.NEVER;
  }
  const checked = oauth2ProvidersVariable.safeParse(text);
  if (!checked.success) {
    for (const issue of checked.error.issues) context.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  }
  return checked.data;
});

// CALLER_POLICY: a JSON array of rules (see shared/auth/caller-policy.ts); unset means nobody may call.
export const callerPolicyVariable = jsonVariable(callerPolicySchema, { expected: 'a JSON array of rules', invalid: 'rules' });

// CALLER_QUOTAS: request quotas per caller and per tenant on authorize, token and connections (see
// shared/quotas/request-quotas.ts); unset means no quota.
export const callerQuotasVariable = jsonVariable(callerQuotasSchema, { expected: 'a JSON object', invalid: 'quotas' });

// RETURN_URL_ALLOWLIST: exact URLs (query and fragment excluded) a connect flow may end on.
export const returnUrlAllowlist = commaSeparatedList.refine(
  (urls) =>
    urls.every((value) => {
      if (!URL.canParse(value)) return false;
      const url = new URL(value);
      return isHttpsOrLoopbackHttp(url) && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
    }),
  'must list https URLs (http only on loopback) without query, fragment or credentials',
);

// CONNECT_CONFIRMATION_TENANTS: whose connect flows park the grant until the product confirms its signed-in user
// (docs/connect-confirmation.md): "*" for every tenant, "none", or tenant ids, comma-separated.
export const connectConfirmationTenants = z.string().transform((value, context): '*' | readonly string[] => {
  const trimmed = value.trim();
  if (trimmed === '*') return '*';
  if (trimmed === 'none') return [];
  const listed = commaSeparatedList.safeParse(value);
  if (!listed.success || listed.data.some((tenant) => tenant === '*' || tenant === 'none')) {
    context.addIssue({ code: 'custom', message: 'must be "*", "none", or a comma-separated list of tenant ids' });
    return z.NEVER;
  }
  return listed.data;
});

// ADMIN_ALLOWLIST: the operators' emails (as IAP or their ID token states them); unset means nobody is an operator.
export const adminAllowlist = commaSeparatedList.refine(
  (emails) => emails.every((email) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)),
  'must list email addresses',
);

// The `aud` of IAP's signed header: a backend service (load balancer) or an App Engine app, by project number.
export const iapAudience = z
  .string()
  .regex(
    /^\/projects\/\d+\/(global\/backendServices\/\d+|apps\/[a-z][a-z0-9-]{4,28}[a-z0-9])$/,
    'must be /projects/PROJECT_NUMBER/global/backendServices/SERVICE_ID or /projects/PROJECT_NUMBER/apps/PROJECT_ID',
  );

// SWEEP_PROVIDER_CAPS: {"slack": 5, "google": 20} — per-provider concurrency of the sweeps, over SWEEP_PROVIDER_CONCURRENCY.
export const sweepProviderCaps = jsonVariable(z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a provider id'), z.number().int().min(1).max(500)), {
  expected: 'a JSON object of provider ids to positive integers',
  invalid: 'caps',
});
