// Configuration: read from the environment once, validated, frozen. Nothing else reads process.env.
import { z } from 'zod';
import { BrokerError } from '../errors/broker-error.js';
import { severities } from '../log/logger.js';
import { type CallerPolicyRule, callerPolicySchema } from './caller-policy-schema.js';
import { type CallerQuotas, callerQuotasSchema, noCallerQuotas } from './caller-quotas-schema.js';
import { readFileSync } from 'node:fs';
import { isHttpsOrLoopbackHttp, isLoopbackHostname } from './loopback-url.js';
import { oauth2ProvidersSchema, type ParsedOAuth2ProviderSettings } from './oauth2-provider-settings.js';
import { type OidcProviderSettings, oidcProvidersSchema } from './oidc-provider-settings.js';

const loopbackHostPort = z
  .string()
  .regex(/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{1,5}$/, 'must be a loopback host:port');

const hostPort = z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'must be host:port');

const kmsCryptoKeyName = z
  .string()
  .regex(
    /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/,
    'must be projects/P/locations/L/keyRings/R/cryptoKeys/K',
  );

// Terraform passes google_pubsub_topic.id, the topic's full resource name.
const pubsubTopicName = z.string().regex(/^projects\/[^/]+\/topics\/[^/]+$/, 'must be projects/P/topics/T');

// Fetched without further checks by google-auth-library, so plain http is allowed only on loopback.
const httpsOrLoopbackUrl = z.string().refine((value) => URL.canParse(value) && isHttpsOrLoopbackHttp(new URL(value)), 'must be an https URL, or an http URL on loopback');

const commaSeparatedList = z
  .string()
  .regex(/^\s*[^\s,]+\s*(,\s*[^\s,]+\s*)*$/, 'must be a comma-separated list without empty items')
  .transform((value) => value.split(',').map((item) => item.trim()));

/** Who signs the ID tokens of Google service accounts, and their JWK set (the `jwks_uri` of Google's OpenID discovery). */
export const GOOGLE_ID_TOKEN_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'] as const;
export const GOOGLE_ID_TOKEN_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';

/** A variable holding JSON that `schema` validates; the message names where it is wrong, never the value. */
function jsonVariable<T extends z.ZodType>(schema: T, describe: { readonly expected: string; readonly invalid: string }) {
  return z.string().transform((value, context): z.output<T> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
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
const providerOriginOverrides = z
  .string()
  .transform((value, context) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      context.addIssue({ code: 'custom', message: 'must be a JSON object' });
      return z.NEVER;
    }
    const shape = z.record(
      z.string().refine((key) => URL.canParse(key) && new URL(key).protocol === 'https:' && new URL(key).origin === key, 'keys must be https origins'),
      z.string().refine((target) => URL.canParse(target) && isLoopbackHostname(new URL(target).hostname), 'targets must be loopback URLs'),
    );
    const checked = shape.safeParse(parsed);
    if (!checked.success) {
      context.addIssue({ code: 'custom', message: 'must map https origins to loopback URLs only' });
      return z.NEVER;
    }
    return new Map(Object.entries(checked.data));
  });

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
const httpsOrigin = z.string().refine((value) => URL.canParse(value) && new URL(value).protocol === 'https:' && new URL(value).origin === value, 'origins must be https origins');
const providerEndpointAllowlist = jsonVariable(
  z.record(
    z.string().regex(/^[a-z][a-z0-9_]{1,39}$/),
    z.object({ issuers: z.array(httpsIssuer).default([]), origins: z.array(httpsOrigin).default([]) }).strict(),
  ),
  { expected: 'a JSON object of provider ids to {issuers, origins}', invalid: 'entries' },
);

// CALLER_POLICY: a JSON array of rules (see shared/auth/caller-policy.ts); unset means nobody may call.
const callerPolicyVariable = jsonVariable(callerPolicySchema, { expected: 'a JSON array of rules', invalid: 'rules' });

// CALLER_QUOTAS: request quotas per caller and per tenant on authorize, token and connections (see
// shared/quotas/request-quotas.ts); unset means no quota.
const callerQuotasVariable = jsonVariable(callerQuotasSchema, { expected: 'a JSON object', invalid: 'quotas' });

// RETURN_URL_ALLOWLIST: exact URLs (query and fragment excluded) a connect flow may end on.
const returnUrlAllowlist = commaSeparatedList.refine(
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
const connectConfirmationTenants = z.string().transform((value, context): '*' | readonly string[] => {
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

// OIDC_PROVIDERS: a JSON array of standards-compliant OpenID providers, each {id, displayName, issuer, scopes?}.
const oidcProvidersVariable = jsonVariable(oidcProvidersSchema, { expected: 'a JSON array of providers', invalid: 'providers' });

// OAUTH2_PROVIDERS: a JSON array of plain OAuth 2.0 providers defined as data (shared/config/oauth2-provider-settings.ts).
const oauth2ProvidersDescription = { expected: 'a JSON array of providers', invalid: 'providers' } as const;
const oauth2ProvidersVariable = jsonVariable(oauth2ProvidersSchema, oauth2ProvidersDescription);

// OAUTH2_PROVIDERS_FILE: the same JSON array in a file (a mounted secret or config volume, or a file beside npm start).
// Unset is no file, so a deployment without one need not name it.
const oauth2ProvidersFile = z.string().default('').transform((path, context): ParsedOAuth2ProviderSettings[] => {
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

// ADMIN_ALLOWLIST: the operators' emails (as IAP or their ID token states them); unset means nobody is an operator.
const adminAllowlist = commaSeparatedList.refine(
  (emails) => emails.every((email) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)),
  'must list email addresses',
);

/** Who signs Identity-Aware Proxy assertions, and where their ES256 public keys are published as a JWK set. */
export const IAP_ISSUER = 'https://cloud.google.com/iap';
export const IAP_JWKS_URL = 'https://www.gstatic.com/iap/verify/public_key-jwk';

// The `aud` of IAP's signed header: a backend service (load balancer) or an App Engine app, by project number.
const iapAudience = z
  .string()
  .regex(
    /^\/projects\/\d+\/(global\/backendServices\/\d+|apps\/[a-z][a-z0-9-]{4,28}[a-z0-9])$/,
    'must be /projects/PROJECT_NUMBER/global/backendServices/SERVICE_ID or /projects/PROJECT_NUMBER/apps/PROJECT_ID',
  );

const schedulerJobName = z.string().regex(/^projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/]+$/, 'must be projects/P/locations/L/jobs/J');

// SWEEP_PROVIDER_CAPS: {"slack": 5, "google": 20} — per-provider concurrency of the sweeps, over SWEEP_PROVIDER_CONCURRENCY.
const sweepProviderCaps = z.string().transform((value, context) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    context.addIssue({ code: 'custom', message: 'must be a JSON object of provider ids to positive integers' });
    return z.NEVER;
  }
  const checked = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.number().int().min(1).max(500)).safeParse(parsed);
  if (!checked.success) {
    context.addIssue({ code: 'custom', message: 'must map provider ids to integers between 1 and 500' });
    return z.NEVER;
  }
  return checked.data;
});

const providerClientVariable = /^PROVIDER_([A-Z][A-Z0-9_]*)_CLIENT_(ID|SECRET)$/;

/**
 * Callers whose ID token may arrive with its signature removed by Cloud Run (Cloud Scheduler's OIDC token only
 * ever travels in `Authorization`) and still be accepted, on the strength of a proven IAM check. Only the sweeps
 * read it, for the scheduler's identity; loadConfig refuses it anywhere else.
 */
export const cloudRunIamVerifiedCallers = ['scheduler'] as const;
/** The functions that may be configured with CLOUD_RUN_IAM_VERIFIED_CALLERS. */
export const functionsTrustingCloudRunIam = ['refresh', 'health'] as const;
export const CLOUD_RUN_ADMIN_API_URL = 'https://run.googleapis.com';

/**
 * The variables behind each section of Config, one zod object per section. A function reads only the sections it
 * declares (functions/config-reads.ts), so what it needs from its deployment is known without running it.
 */
const sectionVariables = {
  projectId: z.object({
    GOOGLE_CLOUD_PROJECT: z.string().min(1, 'is required'),
  }),
  firestore: z.object({
    FIRESTORE_EMULATOR_HOST: hostPort.optional(),
    FIRESTORE_DATABASE_ID: z.string().min(1).default('(default)'),
  }),
  kms: z.object({
    KMS_KEY_NAME: kmsCryptoKeyName.optional(),
    // Only the local KMS stand-in is reached this way, without TLS, so it must be on loopback.
    KMS_API_ENDPOINT: loopbackHostPort.optional(),
    KMS_DATA_KEY_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
    KMS_DATA_KEY_CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  }),
  callerIdentity: z.object({
    // The `aud` values callers' ID tokens must carry (the service URL or a custom audience).
    ID_TOKEN_AUDIENCES: commaSeparatedList.optional(),
    // A non-Google issuer (the local one) and its JWK set; unset means Google's. Never "off".
    ID_TOKEN_ISSUER: z.url().optional(),
    ID_TOKEN_JWKS_URL: httpsOrLoopbackUrl.optional(),
  }),
  providers: z.object({
    PROVIDER_ORIGIN_OVERRIDES: providerOriginOverrides.optional(),
    // Upper bound of one provider call (connect to last byte); a provider that hangs past it counts as unavailable.
    PROVIDER_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(60).default(10),
    OIDC_PROVIDERS: oidcProvidersVariable.optional(),
    OAUTH2_PROVIDERS: oauth2ProvidersVariable.optional(),
    OAUTH2_PROVIDERS_FILE: oauth2ProvidersFile,
    PROVIDER_ENDPOINT_ALLOWLIST: providerEndpointAllowlist.optional(),
  }),
  callerPolicy: z.object({
    CALLER_POLICY: callerPolicyVariable.optional(),
  }),
  quotas: z.object({
    CALLER_QUOTAS: callerQuotasVariable.optional(),
  }),
  connect: z.object({
    // The callback function's public URL: the OAuth redirect URI, with the browser start step at <it>/start.
    BROKER_CALLBACK_URL: httpsOrLoopbackUrl.optional(),
    RETURN_URL_ALLOWLIST: returnUrlAllowlist.optional(),
    CONNECT_FLOW_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
    // Confirmation is the default: a connect link is a bearer link, and only the product knows who is signed in.
    CONNECT_CONFIRMATION_TENANTS: connectConfirmationTenants.default('*'),
    // How long a parked grant waits for the product's confirmation before it is discarded and revoked at the provider.
    CONNECT_CONFIRMATION_WINDOW_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  }),
  refresh: z.object({
    // Token reads refresh a token that expires within this many seconds, unless the caller asks otherwise.
    TOKEN_MIN_VALIDITY_SECONDS: z.coerce.number().int().min(0).max(1800).default(60),
    // How long a refresh lease lasts unextended: its holder extends it every quarter of this while the provider is slow,
    // so only a dead or frozen holder loses it.
    REFRESH_LEASE_TTL_SECONDS: z.coerce.number().int().min(5).max(300).default(30),
    // How long a token read waits for a refresh before it answers 503 (the refresh itself goes on).
    REFRESH_CALLER_WAIT_SECONDS: z.coerce.number().int().min(1).max(60).default(10),
    // How long a refresh waits for the provider's reply: a rotating provider may have rotated already, and a reply
    // given up on is a refresh token lost. Longer than callers wait, normally (a caller that waits longer sees its failure).
    REFRESH_REPLY_DEADLINE_SECONDS: z.coerce.number().int().min(1).max(600).default(120),
    // The sweep refreshes a connection this long before its token expires (nextRefreshAtMs).
    REFRESH_AHEAD_SECONDS: z.coerce.number().int().min(60).max(86_400).default(600),
    // Backoff after retryable refresh failures: exponential from the base, with jitter, capped.
    REFRESH_BACKOFF_BASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
    REFRESH_BACKOFF_MAX_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3600),
    // Consecutive retryable failures after which the connection's status becomes `error` (with an event).
    REFRESH_FAILURES_BEFORE_ERROR: z.coerce.number().int().min(1).max(100).default(5),
  }),
  tokenCache: z.object({
    // The token function's cache of connections it served (shared/usecases/token/connection-cache.ts): at most this
    // many lookups per instance, each one Firestore listener; 0 turns the cache off.
    TOKEN_CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).max(10_000).default(500),
    // A lookup not read for this long is dropped and its listener closed.
    TOKEN_CACHE_IDLE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  }),
  events: z.object({
    // Where connection events are published; unset means this deployment publishes none (the outbox keeps them).
    EVENTS_TOPIC: pubsubTopicName.optional(),
    // The local or test Pub/Sub emulator: reached without TLS and without credentials.
    PUBSUB_EMULATOR_HOST: hostPort.optional(),
    // How long one publish may take, retries included; an event not acknowledged by then stays in the outbox.
    EVENTS_PUBLISH_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(60).default(10),
  }),
  admin: z.object({
    // The admin function: operators by email (deny by default), and IAP's signed header where IAP fronts it.
    ADMIN_ALLOWLIST: adminAllowlist.optional(),
    IAP_AUDIENCE: iapAudience.optional(),
    // IAP's JWK set; a loopback URL only for the local IAP stand-in. The issuer is always IAP's own.
    IAP_JWKS_URL: httpsOrLoopbackUrl.optional(),
    // The deployed refresh sweep's Scheduler job: "refresh all" runs it there instead of inside the admin function.
    SCHEDULER_REFRESH_JOB: schedulerJobName.optional(),
  }),
  scheduler: z.object({
    // The sweeps (refresh, health) answer only this identity: the service account Cloud Scheduler's OIDC tokens name.
    SCHEDULER_SERVICE_ACCOUNT: z.email().optional(),
    // Off unless set: accept the scheduler's token with the signature Cloud Run removed, once this service has proven
    // (through the Cloud Run Admin API) that IAM guards it. See docs/deployment.md; never set locally.
    CLOUD_RUN_IAM_VERIFIED_CALLERS: z.enum(cloudRunIamVerifiedCallers).optional(),
  }),
  cloudRun: z.object({
    // Where that proof reads the service and its IAM policy; a loopback URL only for tests and local stand-ins.
    CLOUD_RUN_ADMIN_API_URL: httpsOrLoopbackUrl.optional(),
    // The service's region for that proof; unset means the metadata server's instance/region.
    CLOUD_RUN_REGION: z.string().regex(/^[a-z]+-[a-z]+\d+$/, 'must be a region such as europe-west1').optional(),
  }),
  sweeps: z.object({
    // The refresh sweep also takes connections due within this many seconds: at least the schedule's interval.
    SWEEP_REFRESH_WINDOW_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
    // How many connections one Firestore query of a sweep returns.
    SWEEP_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(200),
    // Connections a sweep works on at once, overall and per provider (SWEEP_PROVIDER_CAPS overrides single providers).
    SWEEP_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(20),
    SWEEP_PROVIDER_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(10),
    SWEEP_PROVIDER_CAPS: sweepProviderCaps.default({}),
    // Each sweep worker waits a random part of this before its first call, so a sweep never opens as one burst.
    SWEEP_JITTER_MS: z.coerce.number().int().min(0).max(60_000).default(250),
    // A sweep starts no connection after this long: the function's timeout (540 s) minus room for the last ones and the drain.
    SWEEP_TIME_BUDGET_SECONDS: z.coerce.number().int().min(1).max(3600).default(480),
    // The health sweep checks a connection again only after this long.
    HEALTH_RECHECK_SECONDS: z.coerce.number().int().min(0).max(7 * 86_400).default(3600),
    // A provider revocation that kept failing transiently is retried by the refresh sweep for this long, then given up (audited, alerted).
    PENDING_REVOCATION_MAX_AGE_SECONDS: z.coerce.number().int().min(60).max(90 * 86_400).default(7 * 86_400),
  }),
  log: z.object({
    LOG_LEVEL: z.enum(severities).default('INFO'),
  }),
  runtime: z.object({
    K_SERVICE: z.string().optional(),
    FUNCTION_TARGET: z.string().optional(),
  }),
};

const environmentSchema = z.object({
  ...sectionVariables.projectId.shape,
  ...sectionVariables.firestore.shape,
  ...sectionVariables.kms.shape,
  ...sectionVariables.callerIdentity.shape,
  ...sectionVariables.providers.shape,
  ...sectionVariables.callerPolicy.shape,
  ...sectionVariables.quotas.shape,
  ...sectionVariables.connect.shape,
  ...sectionVariables.refresh.shape,
  ...sectionVariables.tokenCache.shape,
  ...sectionVariables.events.shape,
  ...sectionVariables.admin.shape,
  ...sectionVariables.scheduler.shape,
  ...sectionVariables.cloudRun.shape,
  ...sectionVariables.sweeps.shape,
  ...sectionVariables.log.shape,
  ...sectionVariables.runtime.shape,
}).superRefine((e, context) => {
  // Half a custom issuer would verify local tokens against Google's keys or Google tokens against local ones.
  if ((e.ID_TOKEN_ISSUER === undefined) !== (e.ID_TOKEN_JWKS_URL === undefined)) {
    const missing = e.ID_TOKEN_ISSUER === undefined ? 'ID_TOKEN_ISSUER' : 'ID_TOKEN_JWKS_URL';
    context.addIssue({ code: 'custom', path: [missing], message: 'is required with the other ID_TOKEN_ variable' });
  }
  if (e.ID_TOKEN_ISSUER !== undefined && (GOOGLE_ID_TOKEN_ISSUERS as readonly string[]).includes(e.ID_TOKEN_ISSUER)) {
    context.addIssue({ code: 'custom', path: ['ID_TOKEN_ISSUER'], message: "must not name Google's issuer; leave unset" });
  }
  // Trusting Cloud Run's IAM check is for the sweeps' scheduler identity only, and needs what the proof reads.
  if (e.CLOUD_RUN_IAM_VERIFIED_CALLERS !== undefined) {
    const target = e.FUNCTION_TARGET;
    if (target !== undefined && !(functionsTrustingCloudRunIam as readonly string[]).includes(target)) {
      context.addIssue({
        code: 'custom',
        path: ['CLOUD_RUN_IAM_VERIFIED_CALLERS'],
        message: `may only be set on the ${functionsTrustingCloudRunIam.join(' and ')} functions, not on ${target}`,
      });
    }
    for (const required of ['SCHEDULER_SERVICE_ACCOUNT', 'ID_TOKEN_AUDIENCES', 'K_SERVICE'] as const) {
      if (e[required] === undefined) {
        context.addIssue({ code: 'custom', path: [required], message: 'is required with CLOUD_RUN_IAM_VERIFIED_CALLERS' });
      }
    }
  }
});

/** Every variable loadConfig reads by name; PROVIDER_<ID>_CLIENT_ID / _SECRET pairs come on top (isConfigVariableName). */
export const configVariableNames: readonly string[] = Object.freeze(Object.keys(environmentSchema.shape));

/** Whether loadConfig reads a variable of this name, so a deployment can be checked for settings nothing reads. */
export function isConfigVariableName(name: string): boolean {
  return configVariableNames.includes(name) || providerClientVariable.test(name);
}

export interface Config {
  readonly projectId: string;
  readonly firestore: {
    readonly emulatorHost: string | undefined;
    readonly databaseId: string;
  };
  readonly kms: {
    readonly keyName: string | undefined;
    readonly apiEndpoint: string | undefined;
    readonly dataKeyCacheTtlMs: number;
    readonly dataKeyCacheMaxEntries: number;
  };
  readonly callerIdentity: {
    /** Accepted `aud` values; empty where this deployment authenticates no callers. */
    readonly audiences: readonly string[];
    readonly issuers: readonly string[];
    /** The JWK set of those issuers. */
    readonly jwksUrl: string;
  };
  readonly providers: {
    /** Production origin → loopback base URL; empty in production. */
    readonly originOverrides: ReadonlyMap<string, string>;
    /** Operator-defined OpenID providers, added to the catalog from their issuer alone. */
    readonly oidcProviders: readonly OidcProviderSettings[];
    /** Operator-defined plain OAuth 2.0 providers (OAUTH2_PROVIDERS, then OAUTH2_PROVIDERS_FILE), validated. */
    readonly oauth2Providers: readonly ParsedOAuth2ProviderSettings[];
    /** Timeout of one outbound provider call. */
    readonly timeoutMs: number;
    /** Per client registration, the servers a connection may name and the origins their endpoints may use. */
    readonly endpointAllowlist: Readonly<Record<string, { readonly issuers: readonly string[]; readonly origins: readonly string[] }>>;
  };
  /**
   * Registered OAuth clients by provider id, from PROVIDER_<ID>_CLIENT_ID / PROVIDER_<ID>_CLIENT_SECRET; without the
   * secrets in a function that declares only providerClientIds.
   */
  readonly providerClients: Readonly<Record<string, { readonly clientId: string; readonly clientSecret?: string }>>;
  /** Deny by default: an empty list allows nothing. */
  readonly callerPolicy: readonly CallerPolicyRule[];
  /** How many requests each caller and tenant may make, per function; nothing counted where nothing is set. */
  readonly quotas: CallerQuotas;
  readonly connect: {
    /** The redirect URI registered at every provider; undefined where this deployment runs no connect flows. */
    readonly callbackUrl: string | undefined;
    /** Exact-match return URLs; empty means no flow can be started. */
    readonly returnUrlAllowlist: readonly string[];
    readonly flowTtlMs: number;
    /** The tenants whose grants wait for the product to confirm its user: "*" for all; empty for none. */
    readonly confirmationTenants: '*' | readonly string[];
    readonly confirmationWindowMs: number;
  };
  readonly refresh: {
    /** Default `minValiditySeconds` of a token read. */
    readonly defaultMinValidityMs: number;
    readonly leaseTtlMs: number;
    /** A token read answers 503 after waiting this long for a refresh. */
    readonly callerWaitMs: number;
    /** A refresh waits this long for the provider's reply, extending its lease meanwhile. */
    readonly replyDeadlineMs: number;
    /** nextRefreshAtMs = expiry minus this, for the refresh sweep. */
    readonly aheadMs: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
    readonly failuresBeforeError: number;
  };
  readonly tokenCache: {
    readonly maxEntries: number;
    readonly idleMs: number;
  };
  readonly events: {
    /** projects/P/topics/T; undefined where this deployment publishes no events. */
    readonly topic: string | undefined;
    readonly emulatorHost: string | undefined;
    readonly publishTimeoutMs: number;
  };
  readonly admin: {
    /** Operator emails, lower-cased; empty means nobody may use the admin function. */
    readonly allowlist: readonly string[];
    readonly iap: {
      /** Undefined where no IAP fronts the admin function: then IAP assertions are refused, not ignored. */
      readonly audience: string | undefined;
      readonly issuer: string;
      readonly publicKeysUrl: string;
    };
    readonly schedulerRefreshJob: string | undefined;
  };
  readonly scheduler: {
    /** The only caller the sweeps accept; undefined means nobody may run them. */
    readonly serviceAccount: string | undefined;
    /** Whether the scheduler's signature-stripped token is accepted once IAM protection is proven (off by default). */
    readonly trustCloudRunIam: boolean;
  };
  readonly sweeps: {
    readonly refreshWindowMs: number;
    readonly pageSize: number;
    readonly concurrency: number;
    readonly providerConcurrency: number;
    readonly providerCaps: Readonly<Record<string, number>>;
    readonly jitterMs: number;
    readonly timeBudgetMs: number;
    readonly healthRecheckMs: number;
    readonly pendingRevocationMaxAgeMs: number;
  };
  readonly log: { readonly minSeverity: (typeof severities)[number] };
  readonly runtime: { readonly service: string | undefined; readonly functionTarget: string | undefined };
  readonly cloudRun: {
    /** The Cloud Run Admin API's base URL (Google's unless a loopback stand-in is configured). */
    readonly adminApiUrl: string;
    /** Undefined: ask the metadata server. */
    readonly region: string | undefined;
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The sections of Config a function declares it reads (functions/config-reads.ts). */
export const configSections = [
  'firestore',
  'kms',
  'callerIdentity',
  'providers',
  // The client ids alone: enough to build an authorization URL, and no secret in the process.
  'providerClientIds',
  'providerClients',
  'callerPolicy',
  'quotas',
  'connect',
  'refresh',
  'tokenCache',
  'events',
  'admin',
  'scheduler',
  'cloudRun',
  'sweeps',
] as const;
export type ConfigSection = (typeof configSections)[number];
/** What every function reads: its project, log level and own name. */
const sectionsEveryFunctionReads = ['projectId', 'log', 'runtime'] as const;

/** A function's name and the sections its code may read; reading another one is a programming error. */
export interface ConfigReader {
  readonly functionName: string;
  readonly sections: readonly ConfigSection[];
}

/** The variables behind a section; the provider client pairs by their template (PROVIDER_<ID>_CLIENT_ID). */
export function variablesOfSection(section: ConfigSection | (typeof sectionsEveryFunctionReads)[number]): readonly string[] {
  if (section === 'providerClientIds') return ['PROVIDER_<ID>_CLIENT_ID'];
  if (section === 'providerClients') return ['PROVIDER_<ID>_CLIENT_ID', 'PROVIDER_<ID>_CLIENT_SECRET'];
  return Object.keys(sectionVariables[section].shape);
}

/**
 * Variables a deployment must set where their section is read: those without a default, except the ones that
 * only point the broker at local stand-ins and the ones the platform sets itself.
 */
export function isDeploymentVariable(name: string): boolean {
  const section = Object.values(sectionVariables).find((variables) => name in variables.shape);
  if (section === undefined) return providerClientVariable.test(name);
  if ((standInVariables as readonly string[]).includes(name) || (platformVariables as readonly string[]).includes(name)) return false;
  const parsed = (section.shape as Record<string, z.ZodType>)[name]?.safeParse(undefined);
  return !(parsed?.success === true && parsed.data !== undefined);
}

/** Variables that point the broker at a local stand-in of a Google service or provider; never set in production. */
export const standInVariables = [
  'FIRESTORE_EMULATOR_HOST',
  'KMS_API_ENDPOINT',
  'ID_TOKEN_ISSUER',
  'ID_TOKEN_JWKS_URL',
  'PROVIDER_ORIGIN_OVERRIDES',
  'PUBSUB_EMULATOR_HOST',
  'IAP_JWKS_URL',
  'CLOUD_RUN_ADMIN_API_URL',
] as const;
/** Set by Cloud Run (and by the local stack the same way), never by the deployment. */
export const platformVariables = ['K_SERVICE', 'FUNCTION_TARGET'] as const;

/**
 * Parses the environment; throws a `misconfigured` BrokerError naming every bad variable (never its value).
 * With a reader, the sections it does not declare throw a TypeError naming the function and the variables when read.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, reader?: ConfigReader): Config {
  const config = buildConfig(env);
  return reader === undefined ? deepFreeze(config) : restrictToSections(config, reader);
}

function restrictToSections(config: Config, reader: ConfigReader): Config {
  const readable = new Set<string>([...sectionsEveryFunctionReads, ...reader.sections]);
  const idsOnly = readable.has('providerClientIds') && !readable.has('providerClients');
  if (idsOnly) readable.add('providerClients');
  const restricted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (readable.has(key)) {
      restricted[key] = deepFreeze(key === 'providerClients' && idsOnly ? clientIdsOnly(config.providerClients) : value);
      continue;
    }
    Object.defineProperty(restricted, key, {
      enumerable: false,
      get() {
        const variables = variablesOfSection(key as ConfigSection).join(', ');
        throw new TypeError(`The ${reader.functionName} function read config.${key} (${variables}), which functions/config-reads.ts does not declare for it`);
      },
    });
  }
  return Object.freeze(restricted) as unknown as Config;
}

function clientIdsOnly(clients: Config['providerClients']): Config['providerClients'] {
  return Object.fromEntries(Object.entries(clients).map(([id, client]) => [id, { clientId: client.clientId }]));
}

function buildConfig(env: Readonly<Record<string, string | undefined>>): Config {
  // Empty strings mean "unset", as they do in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new BrokerError('misconfigured', `Invalid configuration: ${problems.join('; ')}`, {
      details: { variables: parsed.error.issues.map((issue) => issue.path.join('.')) },
    });
  }
  const e = parsed.data;
  return {
    projectId: e.GOOGLE_CLOUD_PROJECT,
    firestore: { emulatorHost: e.FIRESTORE_EMULATOR_HOST, databaseId: e.FIRESTORE_DATABASE_ID },
    kms: {
      keyName: e.KMS_KEY_NAME,
      apiEndpoint: e.KMS_API_ENDPOINT,
      dataKeyCacheTtlMs: e.KMS_DATA_KEY_CACHE_TTL_SECONDS * 1000,
      dataKeyCacheMaxEntries: e.KMS_DATA_KEY_CACHE_MAX_ENTRIES,
    },
    callerIdentity: {
      audiences: e.ID_TOKEN_AUDIENCES ?? [],
      issuers: e.ID_TOKEN_ISSUER === undefined ? [...GOOGLE_ID_TOKEN_ISSUERS] : [e.ID_TOKEN_ISSUER],
      jwksUrl: e.ID_TOKEN_JWKS_URL ?? GOOGLE_ID_TOKEN_JWKS_URL,
    },
    providers: {
      originOverrides: e.PROVIDER_ORIGIN_OVERRIDES ?? new Map<string, string>(),
      oidcProviders: e.OIDC_PROVIDERS ?? [],
      oauth2Providers: [...(e.OAUTH2_PROVIDERS ?? []), ...e.OAUTH2_PROVIDERS_FILE],
      timeoutMs: e.PROVIDER_TIMEOUT_SECONDS * 1000,
      endpointAllowlist: e.PROVIDER_ENDPOINT_ALLOWLIST ?? {},
    },
    providerClients: providerClients(present),
    callerPolicy: e.CALLER_POLICY ?? [],
    quotas: e.CALLER_QUOTAS ?? noCallerQuotas,
    connect: {
      callbackUrl: e.BROKER_CALLBACK_URL,
      returnUrlAllowlist: e.RETURN_URL_ALLOWLIST ?? [],
      flowTtlMs: e.CONNECT_FLOW_TTL_SECONDS * 1000,
      confirmationTenants: e.CONNECT_CONFIRMATION_TENANTS,
      confirmationWindowMs: e.CONNECT_CONFIRMATION_WINDOW_SECONDS * 1000,
    },
    refresh: {
      defaultMinValidityMs: e.TOKEN_MIN_VALIDITY_SECONDS * 1000,
      leaseTtlMs: e.REFRESH_LEASE_TTL_SECONDS * 1000,
      callerWaitMs: e.REFRESH_CALLER_WAIT_SECONDS * 1000,
      replyDeadlineMs: e.REFRESH_REPLY_DEADLINE_SECONDS * 1000,
      aheadMs: e.REFRESH_AHEAD_SECONDS * 1000,
      backoffBaseMs: e.REFRESH_BACKOFF_BASE_SECONDS * 1000,
      backoffMaxMs: Math.max(e.REFRESH_BACKOFF_MAX_SECONDS, e.REFRESH_BACKOFF_BASE_SECONDS) * 1000,
      failuresBeforeError: e.REFRESH_FAILURES_BEFORE_ERROR,
    },
    tokenCache: {
      maxEntries: e.TOKEN_CACHE_MAX_ENTRIES,
      idleMs: e.TOKEN_CACHE_IDLE_SECONDS * 1000,
    },
    events: {
      topic: e.EVENTS_TOPIC,
      emulatorHost: e.PUBSUB_EMULATOR_HOST,
      publishTimeoutMs: e.EVENTS_PUBLISH_TIMEOUT_SECONDS * 1000,
    },
    admin: {
      allowlist: (e.ADMIN_ALLOWLIST ?? []).map((email) => email.toLowerCase()),
      iap: { audience: e.IAP_AUDIENCE, issuer: IAP_ISSUER, publicKeysUrl: e.IAP_JWKS_URL ?? IAP_JWKS_URL },
      schedulerRefreshJob: e.SCHEDULER_REFRESH_JOB,
    },
    scheduler: {
      serviceAccount: e.SCHEDULER_SERVICE_ACCOUNT?.toLowerCase(),
      trustCloudRunIam: e.CLOUD_RUN_IAM_VERIFIED_CALLERS === 'scheduler',
    },
    sweeps: {
      refreshWindowMs: e.SWEEP_REFRESH_WINDOW_SECONDS * 1000,
      pageSize: e.SWEEP_PAGE_SIZE,
      concurrency: e.SWEEP_CONCURRENCY,
      providerConcurrency: e.SWEEP_PROVIDER_CONCURRENCY,
      providerCaps: e.SWEEP_PROVIDER_CAPS,
      jitterMs: e.SWEEP_JITTER_MS,
      timeBudgetMs: e.SWEEP_TIME_BUDGET_SECONDS * 1000,
      healthRecheckMs: e.HEALTH_RECHECK_SECONDS * 1000,
      pendingRevocationMaxAgeMs: e.PENDING_REVOCATION_MAX_AGE_SECONDS * 1000,
    },
    log: { minSeverity: e.LOG_LEVEL },
    runtime: { service: e.K_SERVICE, functionTarget: e.FUNCTION_TARGET },
    cloudRun: { adminApiUrl: (e.CLOUD_RUN_ADMIN_API_URL ?? CLOUD_RUN_ADMIN_API_URL).replace(/\/+$/, ''), region: e.CLOUD_RUN_REGION },
  };
}

/** FUNCTION_TARGET, for the package entry point that loads the named function (which then reads its own sections). */
export function processFunctionTarget(): string | undefined {
  // Unset, the package is being imported rather than started as a function: there is no configuration to check yet.
  if ((process.env.FUNCTION_TARGET ?? '') === '') return undefined;
  return loadConfig(process.env, { functionName: 'index', sections: [] }).runtime.functionTarget;
}

/**
 * The process's configuration for one function, parsed once: the one sanctioned read of process.env. Keyed by
 * function because the local stack's tests load several functions into one process.
 */
const processConfigs = new Map<string, Config>();
export function processEnvironmentConfig(reader: ConfigReader): Config {
  let config = processConfigs.get(reader.functionName);
  if (config === undefined) {
    config = loadConfig(process.env, reader);
    processConfigs.set(reader.functionName, config);
  }
  return config;
}

/** Collects PROVIDER_<ID>_CLIENT_ID/_SECRET pairs; a secret without its id is a misconfiguration. */
function providerClients(env: Readonly<Record<string, string | undefined>>): Record<string, { clientId: string; clientSecret?: string }> {
  const ids = new Map<string, string>();
  const secrets = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    const match = providerClientVariable.exec(name);
    if (!match || value === undefined) continue;
    (match[2] === 'ID' ? ids : secrets).set((match[1] as string).toLowerCase(), value);
  }
  const orphans = [...secrets.keys()].filter((id) => !ids.has(id));
  if (orphans.length > 0) {
    throw new BrokerError('misconfigured', 'A provider client secret has no client id', {
      details: { variables: orphans.map((id) => `PROVIDER_${id.toUpperCase()}_CLIENT_ID`) },
    });
  }
  const clients: Record<string, { clientId: string; clientSecret?: string }> = {};
  for (const [id, clientId] of ids) {
    const clientSecret = secrets.get(id);
    clients[id] = clientSecret === undefined ? { clientId } : { clientId, clientSecret };
  }
  return clients;
}
