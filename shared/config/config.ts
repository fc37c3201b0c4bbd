// Configuration: read from the environment once, validated, frozen. Nothing else reads process.env.
import { z } from 'zod';
import { BrokerError } from '../errors/broker-error.js';
import { severities } from '../log/logger.js';
import { noCallerQuotas } from './caller-quotas-schema.js';
import {
  adminAllowlist,
  callerPolicyVariable,
  callerQuotasVariable,
  commaSeparatedList,
  connectConfirmationTenants,
  hostPort,
  httpsOrLoopbackUrl,
  iapAudience,
  integer,
  kmsCryptoKeyName,
  loopbackHostPort,
  oauth2ProvidersFile,
  oauth2ProvidersVariable,
  oidcProvidersVariable,
  providerEndpointAllowlist,
  providerOriginOverrides,
  pubsubTopicName,
  returnUrlAllowlist,
  schedulerJobName,
  sweepProviderCaps,
} from './variable-schemas.js';

/** Who signs the ID tokens of Google service accounts, and their JWK set (the `jwks_uri` of Google's OpenID discovery). */
export const GOOGLE_ID_TOKEN_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'] as const;
export const GOOGLE_ID_TOKEN_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';

/** Who signs Identity-Aware Proxy assertions, and where their ES256 public keys are published as a JWK set. */
export const IAP_ISSUER = 'https://cloud.google.com/iap';
export const IAP_JWKS_URL = 'https://www.gstatic.com/iap/verify/public_key-jwk';

/**
 * Callers whose ID token may arrive with its signature removed by Cloud Run (Cloud Scheduler's OIDC token only
 * ever travels in `Authorization`) and still be accepted, on the strength of a proven IAM check. Only the sweeps
 * read it, for the scheduler's identity; loadConfig refuses it anywhere else.
 */
export const cloudRunIamVerifiedCallers = ['scheduler'] as const;
/** The functions that may be configured with CLOUD_RUN_IAM_VERIFIED_CALLERS. */
export const functionsTrustingCloudRunIam = ['refresh', 'health'] as const;
export const CLOUD_RUN_ADMIN_API_URL = 'https://run.googleapis.com';

const providerClientVariable = /^PROVIDER_([A-Z][A-Z0-9_]*)_CLIENT_(ID|SECRET)$/;

/**
 * Config, one section per key: each a zod object of the variables behind it that transforms into the section. A
 * function reads only the sections it declares (functions/config-reads.ts), so what it needs from its deployment is
 * known without running it.
 */
const sections = {
  projectId: z
    .object({ GOOGLE_CLOUD_PROJECT: z.string().min(1, 'is required') })
    .transform((e) => e.GOOGLE_CLOUD_PROJECT)
    .readonly(),
  firestore: z
    .object({
      FIRESTORE_EMULATOR_HOST: hostPort.optional(),
      FIRESTORE_DATABASE_ID: z.string().min(1).default('(default)'),
    })
    .transform((e) => ({ emulatorHost: e.FIRESTORE_EMULATOR_HOST, databaseId: e.FIRESTORE_DATABASE_ID }))
    .readonly(),
  kms: z
    .object({
      KMS_KEY_NAME: kmsCryptoKeyName.optional(),
      // Only the local KMS stand-in is reached this way, without TLS, so it must be on loopback.
      KMS_API_ENDPOINT: loopbackHostPort.optional(),
      KMS_DATA_KEY_CACHE_TTL_SECONDS: integer(0, 3600).default(300),
      KMS_DATA_KEY_CACHE_MAX_ENTRIES: integer(0, 1_000_000).default(10_000),
    })
    .transform((e) => ({
      keyName: e.KMS_KEY_NAME,
      apiEndpoint: e.KMS_API_ENDPOINT,
      dataKeyCacheTtlMs: e.KMS_DATA_KEY_CACHE_TTL_SECONDS * 1000,
      dataKeyCacheMaxEntries: e.KMS_DATA_KEY_CACHE_MAX_ENTRIES,
    }))
    .readonly(),
  callerIdentity: z
    .object({
      // The `aud` values callers' ID tokens must carry (the service URL or a custom audience).
      ID_TOKEN_AUDIENCES: commaSeparatedList.optional(),
      // A non-Google issuer (the local one) and its JWK set; unset means Google's. Never "off".
      ID_TOKEN_ISSUER: z.url().optional(),
      ID_TOKEN_JWKS_URL: httpsOrLoopbackUrl.optional(),
    })
    .superRefine((e, context) => {
      // Half a custom issuer would verify local tokens against Google's keys or Google tokens against local ones.
      if ((e.ID_TOKEN_ISSUER === undefined) !== (e.ID_TOKEN_JWKS_URL === undefined)) {
        const missing = e.ID_TOKEN_ISSUER === undefined ? 'ID_TOKEN_ISSUER' : 'ID_TOKEN_JWKS_URL';
        context.addIssue({ code: 'custom', path: [missing], message: 'is required with the other ID_TOKEN_ variable' });
      }
      if (e.ID_TOKEN_ISSUER !== undefined && (GOOGLE_ID_TOKEN_ISSUERS as readonly string[]).includes(e.ID_TOKEN_ISSUER)) {
        context.addIssue({ code: 'custom', path: ['ID_TOKEN_ISSUER'], message: "must not name Google's issuer; leave unset" });
      }
    })
    .transform((e) => ({
      /** Accepted `aud` values; empty where this deployment authenticates no callers. */
      audiences: e.ID_TOKEN_AUDIENCES ?? [],
      issuers: e.ID_TOKEN_ISSUER === undefined ? [...GOOGLE_ID_TOKEN_ISSUERS] : [e.ID_TOKEN_ISSUER],
      /** The JWK set of those issuers. */
      jwksUrl: e.ID_TOKEN_JWKS_URL ?? GOOGLE_ID_TOKEN_JWKS_URL,
    }))
    .readonly(),
  providers: z
    .object({
      PROVIDER_ORIGIN_OVERRIDES: providerOriginOverrides.optional(),
      // Upper bound of one provider call (connect to last byte); a provider that hangs past it counts as unavailable.
      PROVIDER_TIMEOUT_SECONDS: integer(1, 60).default(10),
      OIDC_PROVIDERS: oidcProvidersVariable.optional(),
      OAUTH2_PROVIDERS: oauth2ProvidersVariable.optional(),
      OAUTH2_PROVIDERS_FILE: oauth2ProvidersFile,
      PROVIDER_ENDPOINT_ALLOWLIST: providerEndpointAllowlist.optional(),
    })
    .transform((e) => ({
      /** Production origin → loopback base URL; empty in production. */
      originOverrides: e.PROVIDER_ORIGIN_OVERRIDES ?? new Map<string, string>(),
      /** Operator-defined OpenID providers, added to the catalog from their issuer alone. */
      oidcProviders: e.OIDC_PROVIDERS ?? [],
      /** Operator-defined plain OAuth 2.0 providers (OAUTH2_PROVIDERS, then OAUTH2_PROVIDERS_FILE), validated. */
      oauth2Providers: [...(e.OAUTH2_PROVIDERS ?? []), ...e.OAUTH2_PROVIDERS_FILE],
      /** Timeout of one outbound provider call. */
      timeoutMs: e.PROVIDER_TIMEOUT_SECONDS * 1000,
      /** Per client registration, the servers a connection may name and the origins their endpoints may use. */
      endpointAllowlist: e.PROVIDER_ENDPOINT_ALLOWLIST ?? {},
    }))
    .readonly(),
  /**
   * Registered OAuth clients by provider id, from PROVIDER_<ID>_CLIENT_ID / PROVIDER_<ID>_CLIENT_SECRET; without the
   * secrets in a function that declares only providerClientIds.
   */
  providerClients: z
    .looseObject({})
    .transform((env, context) => {
      const { clients, secretsWithoutId } = collectProviderClients(env);
      for (const id of secretsWithoutId) {
        context.addIssue({ code: 'custom', path: [`PROVIDER_${id}_CLIENT_ID`], message: `is required with PROVIDER_${id}_CLIENT_SECRET` });
      }
      return clients;
    })
    .readonly(),
  /** Deny by default: an empty list allows nothing. */
  callerPolicy: z
    .object({ CALLER_POLICY: callerPolicyVariable.optional() })
    .transform((e) => e.CALLER_POLICY ?? [])
    .readonly(),
  /** How many requests each caller and tenant may make, per function; nothing counted where nothing is set. */
  quotas: z
    .object({ CALLER_QUOTAS: callerQuotasVariable.optional() })
    .transform((e) => e.CALLER_QUOTAS ?? noCallerQuotas)
    .readonly(),
  connect: z
    .object({
      // The callback function's public URL: the OAuth redirect URI, with the browser start step at <it>/start.
      BROKER_CALLBACK_URL: httpsOrLoopbackUrl.optional(),
      RETURN_URL_ALLOWLIST: returnUrlAllowlist.optional(),
      CONNECT_FLOW_TTL_SECONDS: integer(60, 3600).default(900),
      // Confirmation is the default: a connect link is a bearer link, and only the product knows who is signed in.
      CONNECT_CONFIRMATION_TENANTS: connectConfirmationTenants.default('*'),
      // How long a parked grant waits for the product's confirmation before it is discarded and revoked at the provider.
      CONNECT_CONFIRMATION_WINDOW_SECONDS: integer(10, 3600).default(300),
    })
    .transform((e) => ({
      /** The redirect URI registered at every provider; undefined where this deployment runs no connect flows. */
      callbackUrl: e.BROKER_CALLBACK_URL,
      /** Exact-match return URLs; empty means no flow can be started. */
      returnUrlAllowlist: e.RETURN_URL_ALLOWLIST ?? [],
      flowTtlMs: e.CONNECT_FLOW_TTL_SECONDS * 1000,
      /** The tenants whose grants wait for the product to confirm its user: "*" for all; empty for none. */
      confirmationTenants: e.CONNECT_CONFIRMATION_TENANTS,
      confirmationWindowMs: e.CONNECT_CONFIRMATION_WINDOW_SECONDS * 1000,
    }))
    .readonly(),
  refresh: z
    .object({
      // Token reads refresh a token that expires within this many seconds, unless the caller asks otherwise.
      TOKEN_MIN_VALIDITY_SECONDS: integer(0, 1800).default(60),
      // How long a refresh lease lasts unextended: its holder extends it every quarter of this while the provider is slow,
      // so only a dead or frozen holder loses it.
      REFRESH_LEASE_TTL_SECONDS: integer(5, 300).default(30),
      // How long a token read waits for a refresh before it answers 503 (the refresh itself goes on).
      REFRESH_CALLER_WAIT_SECONDS: integer(1, 60).default(10),
      // How long a refresh waits for the provider's reply: a rotating provider may have rotated already, and a reply
      // given up on is a refresh token lost. Longer than callers wait, normally (a caller that waits longer sees its failure).
      REFRESH_REPLY_DEADLINE_SECONDS: integer(1, 600).default(120),
      // The sweep refreshes a connection this long before its token expires (nextRefreshAtMs).
      REFRESH_AHEAD_SECONDS: integer(60, 86_400).default(600),
      // Backoff after retryable refresh failures: exponential from the base, with jitter, capped.
      REFRESH_BACKOFF_BASE_SECONDS: integer(1, 3600).default(30),
      REFRESH_BACKOFF_MAX_SECONDS: integer(1, 86_400).default(3600),
      // Consecutive retryable failures after which the connection's status becomes `error` (with an event).
      REFRESH_FAILURES_BEFORE_ERROR: integer(1, 100).default(5),
    })
    .transform((e) => ({
      /** Default `minValiditySeconds` of a token read. */
      defaultMinValidityMs: e.TOKEN_MIN_VALIDITY_SECONDS * 1000,
      leaseTtlMs: e.REFRESH_LEASE_TTL_SECONDS * 1000,
      /** A token read answers 503 after waiting this long for a refresh. */
      callerWaitMs: e.REFRESH_CALLER_WAIT_SECONDS * 1000,
      /** A refresh waits this long for the provider's reply, extending its lease meanwhile. */
      replyDeadlineMs: e.REFRESH_REPLY_DEADLINE_SECONDS * 1000,
      /** nextRefreshAtMs = expiry minus this, for the refresh sweep. */
      aheadMs: e.REFRESH_AHEAD_SECONDS * 1000,
      backoffBaseMs: e.REFRESH_BACKOFF_BASE_SECONDS * 1000,
      backoffMaxMs: Math.max(e.REFRESH_BACKOFF_MAX_SECONDS, e.REFRESH_BACKOFF_BASE_SECONDS) * 1000,
      failuresBeforeError: e.REFRESH_FAILURES_BEFORE_ERROR,
    }))
    .readonly(),
  tokenCache: z
    .object({
      // The token function's cache of connections it served (shared/usecases/token/connection-cache.ts): at most this
      // many lookups per instance, each one Firestore listener; 0 turns the cache off.
      TOKEN_CACHE_MAX_ENTRIES: integer(0, 10_000).default(500),
      // A lookup not read for this long is dropped and its listener closed.
      TOKEN_CACHE_IDLE_SECONDS: integer(1, 3600).default(60),
    })
    .transform((e) => ({ maxEntries: e.TOKEN_CACHE_MAX_ENTRIES, idleMs: e.TOKEN_CACHE_IDLE_SECONDS * 1000 }))
    .readonly(),
  events: z
    .object({
      // Where connection events are published; unset means this deployment publishes none (the outbox keeps them).
      EVENTS_TOPIC: pubsubTopicName.optional(),
      // The local or test Pub/Sub emulator: reached without TLS and without credentials.
      PUBSUB_EMULATOR_HOST: hostPort.optional(),
      // How long one publish may take, retries included; an event not acknowledged by then stays in the outbox.
      EVENTS_PUBLISH_TIMEOUT_SECONDS: integer(1, 60).default(10),
    })
    .transform((e) => ({
      /** projects/P/topics/T; undefined where this deployment publishes no events. */
      topic: e.EVENTS_TOPIC,
      emulatorHost: e.PUBSUB_EMULATOR_HOST,
      publishTimeoutMs: e.EVENTS_PUBLISH_TIMEOUT_SECONDS * 1000,
    }))
    .readonly(),
  admin: z
    .object({
      // The admin function: operators by email (deny by default), and IAP's signed header where IAP fronts it.
      ADMIN_ALLOWLIST: adminAllowlist.optional(),
      IAP_AUDIENCE: iapAudience.optional(),
      // IAP's JWK set; a loopback URL only for the local IAP stand-in. The issuer is always IAP's own.
      IAP_JWKS_URL: httpsOrLoopbackUrl.optional(),
      // The deployed refresh sweep's Scheduler job: "refresh all" runs it there instead of inside the admin function.
      SCHEDULER_REFRESH_JOB: schedulerJobName.optional(),
    })
    .transform((e) => ({
      /** Operator emails, lower-cased; empty means nobody may use the admin function. */
      allowlist: (e.ADMIN_ALLOWLIST ?? []).map((email) => email.toLowerCase()),
      iap: {
        /** Undefined where no IAP fronts the admin function: then IAP assertions are refused, not ignored. */
        audience: e.IAP_AUDIENCE,
        issuer: IAP_ISSUER,
        publicKeysUrl: e.IAP_JWKS_URL ?? IAP_JWKS_URL,
      },
      schedulerRefreshJob: e.SCHEDULER_REFRESH_JOB,
    }))
    .readonly(),
  scheduler: z
    .object({
      // The sweeps (refresh, health) answer only this identity: the service account Cloud Scheduler's OIDC tokens name.
      SCHEDULER_SERVICE_ACCOUNT: z.email().optional(),
      // Off unless set: accept the scheduler's token with the signature Cloud Run removed, once this service has proven
      // (through the Cloud Run Admin API) that IAM guards it. See docs/deployment.md; never set locally.
      CLOUD_RUN_IAM_VERIFIED_CALLERS: z.enum(cloudRunIamVerifiedCallers).optional(),
    })
    .transform((e) => ({
      /** The only caller the sweeps accept; undefined means nobody may run them. */
      serviceAccount: e.SCHEDULER_SERVICE_ACCOUNT?.toLowerCase(),
      /** Whether the scheduler's signature-stripped token is accepted once IAM protection is proven (off by default). */
      trustCloudRunIam: e.CLOUD_RUN_IAM_VERIFIED_CALLERS === 'scheduler',
    }))
    .readonly(),
  sweeps: z
    .object({
      // The refresh sweep also takes connections due within this many seconds: at least the schedule's interval.
      SWEEP_REFRESH_WINDOW_SECONDS: integer(0, 86_400).default(300),
      // How many connections one Firestore query of a sweep returns.
      SWEEP_PAGE_SIZE: integer(1, 1000).default(200),
      // Connections a sweep works on at once, overall and per provider (SWEEP_PROVIDER_CAPS overrides single providers).
      SWEEP_CONCURRENCY: integer(1, 500).default(20),
      SWEEP_PROVIDER_CONCURRENCY: integer(1, 500).default(10),
      SWEEP_PROVIDER_CAPS: sweepProviderCaps.default({}),
      // Each sweep worker waits a random part of this before its first call, so a sweep never opens as one burst.
      SWEEP_JITTER_MS: integer(0, 60_000).default(250),
      // A sweep starts no connection after this long: the function's timeout (540 s) minus room for the last ones and the drain.
      SWEEP_TIME_BUDGET_SECONDS: integer(1, 3600).default(480),
      // The health sweep checks a connection again only after this long.
      HEALTH_RECHECK_SECONDS: integer(0, 7 * 86_400).default(3600),
      // A provider revocation that kept failing transiently is retried by the refresh sweep for this long, then given up (audited, alerted).
      PENDING_REVOCATION_MAX_AGE_SECONDS: integer(60, 90 * 86_400).default(7 * 86_400),
    })
    .transform((e) => ({
      refreshWindowMs: e.SWEEP_REFRESH_WINDOW_SECONDS * 1000,
      pageSize: e.SWEEP_PAGE_SIZE,
      concurrency: e.SWEEP_CONCURRENCY,
      /** Per-provider cap for providers without their own entry in `providerCaps`. */
      providerConcurrency: e.SWEEP_PROVIDER_CONCURRENCY,
      providerCaps: e.SWEEP_PROVIDER_CAPS,
      jitterMs: e.SWEEP_JITTER_MS,
      /** No connection is started after this long; the drain at the end has its own small budget. */
      timeBudgetMs: e.SWEEP_TIME_BUDGET_SECONDS * 1000,
      healthRecheckMs: e.HEALTH_RECHECK_SECONDS * 1000,
      pendingRevocationMaxAgeMs: e.PENDING_REVOCATION_MAX_AGE_SECONDS * 1000,
    }))
    .readonly(),
  log: z
    .object({ LOG_LEVEL: z.enum(severities).default('INFO') })
    .transform((e) => ({ minSeverity: e.LOG_LEVEL }))
    .readonly(),
  runtime: z
    .object({ K_SERVICE: z.string().optional(), FUNCTION_TARGET: z.string().optional() })
    .transform((e) => ({ service: e.K_SERVICE, functionTarget: e.FUNCTION_TARGET }))
    .readonly(),
  cloudRun: z
    .object({
      // Where that proof reads the service and its IAM policy; a loopback URL only for tests and local stand-ins.
      CLOUD_RUN_ADMIN_API_URL: httpsOrLoopbackUrl.optional(),
      // The service's region for that proof; unset means the metadata server's instance/region.
      CLOUD_RUN_REGION: z.string().regex(/^[a-z]+-[a-z]+\d+$/, 'must be a region such as europe-west1').optional(),
    })
    .transform((e) => ({
      /** The Cloud Run Admin API's base URL (Google's unless a loopback stand-in is configured). */
      adminApiUrl: (e.CLOUD_RUN_ADMIN_API_URL ?? CLOUD_RUN_ADMIN_API_URL).replace(/\/+$/, ''),
      /** Undefined: ask the metadata server. */
      region: e.CLOUD_RUN_REGION,
    }))
    .readonly(),
};

const configSchema = z
  .object(sections)
  .superRefine((config, context) => {
    // Trusting Cloud Run's IAM check is for the sweeps' scheduler identity only, and needs what the proof reads.
    if (!config.scheduler.trustCloudRunIam) return;
    const target = config.runtime.functionTarget;
    if (target !== undefined && !(functionsTrustingCloudRunIam as readonly string[]).includes(target)) {
      context.addIssue({
        code: 'custom',
        path: ['scheduler', 'CLOUD_RUN_IAM_VERIFIED_CALLERS'],
        message: `may only be set on the ${functionsTrustingCloudRunIam.join(' and ')} functions, not on ${target}`,
      });
    }
    const needed = [
      ['scheduler', 'SCHEDULER_SERVICE_ACCOUNT', config.scheduler.serviceAccount !== undefined],
      ['callerIdentity', 'ID_TOKEN_AUDIENCES', config.callerIdentity.audiences.length > 0],
      ['runtime', 'K_SERVICE', config.runtime.service !== undefined],
    ] as const;
    for (const [section, variable, isSet] of needed) {
      if (!isSet) context.addIssue({ code: 'custom', path: [section, variable], message: 'is required with CLOUD_RUN_IAM_VERIFIED_CALLERS' });
    }
  })
  .readonly();

/** The configuration, each section as its schema above makes it. */
export type Config = z.output<typeof configSchema>;

/** What every function reads: its project, log level and own name. */
const sectionsEveryFunctionReads = ['projectId', 'log', 'runtime'] as const;
type SectionEveryFunctionReads = (typeof sectionsEveryFunctionReads)[number];

/**
 * The sections of Config a function declares it reads (functions/config-reads.ts). providerClientIds is
 * providerClients without the secrets: enough to build an authorization URL, and no secret in the process.
 */
export type ConfigSection = Exclude<keyof Config, SectionEveryFunctionReads> | 'providerClientIds';

/** A function's name and the sections its code may read; reading another one is a programming error. */
export interface ConfigReader {
  readonly functionName: string;
  readonly sections: readonly ConfigSection[];
}

const sectionNames = Object.keys(sections) as (keyof typeof sections)[];

function variableSchemasOf(section: keyof typeof sections): Readonly<Record<string, z.ZodType>> {
  return sections[section].unwrap().in.shape;
}

/** Every variable loadConfig reads by name; PROVIDER_<ID>_CLIENT_ID / _SECRET pairs come on top (isConfigVariableName). */
export const configVariableNames: readonly string[] = Object.freeze(sectionNames.flatMap((section) => Object.keys(variableSchemasOf(section))));

/** Whether loadConfig reads a variable of this name, so a deployment can be checked for settings nothing reads. */
export function isConfigVariableName(name: string): boolean {
  return configVariableNames.includes(name) || providerClientVariable.test(name);
}

/** The variables behind a section; the provider client pairs by their template (PROVIDER_<ID>_CLIENT_ID). */
export function variablesOfSection(section: ConfigSection | SectionEveryFunctionReads): readonly string[] {
  if (section === 'providerClientIds') return ['PROVIDER_<ID>_CLIENT_ID'];
  if (section === 'providerClients') return ['PROVIDER_<ID>_CLIENT_ID', 'PROVIDER_<ID>_CLIENT_SECRET'];
  return Object.keys(variableSchemasOf(section));
}

/**
 * Variables a deployment must set where their section is read: those without a default, except the ones that
 * only point the broker at local stand-ins and the ones the platform sets itself.
 */
export function isDeploymentVariable(name: string): boolean {
  const section = sectionNames.find((candidate) => name in variableSchemasOf(candidate));
  if (section === undefined) return providerClientVariable.test(name);
  if ((standInVariables as readonly string[]).includes(name) || (platformVariables as readonly string[]).includes(name)) return false;
  const parsed = variableSchemasOf(section)[name]?.safeParse(undefined);
  return !(parsed?.success === true && parsed.data !== undefined);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
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
  const config = parseEnvironment(env);
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

function parseEnvironment(env: Readonly<Record<string, string | undefined>>): Config {
  // Empty strings mean "unset", as they do in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  // Every section reads the same environment and keeps its own variables.
  const parsed = configSchema.safeParse(Object.fromEntries(sectionNames.map((section) => [section, present])));
  if (!parsed.success) {
    // An issue's path is [section, variable] and its message fixed text, never the value. The issues themselves go
    // no further: each carries its input, the whole environment with its secrets.
    const variables = parsed.error.issues.map((issue) => issue.path.slice(1).join('.'));
    const problems = parsed.error.issues.map((issue, index) => `${variables[index]} ${issue.message}`);
    throw new BrokerError('misconfigured', `Invalid configuration: ${problems.join('; ')}`, { details: { variables } });
  }
  return parsed.data;
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

/** Collects PROVIDER_<ID>_CLIENT_ID/_SECRET pairs by lower-cased provider id; a secret without its id is a misconfiguration. */
function collectProviderClients(env: Readonly<Record<string, unknown>>) {
  const ids = new Map<string, string>();
  const secrets = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    const match = providerClientVariable.exec(name);
    if (!match || typeof value !== 'string') continue;
    (match[2] === 'ID' ? ids : secrets).set(match[1] as string, value);
  }
  const clients: Record<string, { clientId: string; clientSecret?: string }> = {};
  for (const [id, clientId] of ids) {
    const clientSecret = secrets.get(id);
    clients[id.toLowerCase()] = clientSecret === undefined ? { clientId } : { clientId, clientSecret };
  }
  return { clients, secretsWithoutId: [...secrets.keys()].filter((id) => !ids.has(id)) };
}
