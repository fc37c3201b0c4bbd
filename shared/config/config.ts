// Configuration: read from the environment once, validated, frozen. Nothing else reads process.env.
import { z } from 'zod';
import { BrokerError } from '../errors/broker-error.js';
import { severities } from '../log/logger.js';

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

const environmentSchema = z.object({
  GOOGLE_CLOUD_PROJECT: z.string().min(1, 'is required'),
  FIRESTORE_EMULATOR_HOST: hostPort.optional(),
  FIRESTORE_DATABASE_ID: z.string().min(1).default('(default)'),
  KMS_KEY_NAME: kmsCryptoKeyName.optional(),
  // Only the local KMS stand-in is reached this way, without TLS, so it must be on loopback.
  KMS_API_ENDPOINT: loopbackHostPort.optional(),
  KMS_DATA_KEY_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  KMS_DATA_KEY_CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  LOG_LEVEL: z.enum(severities).default('INFO'),
  K_SERVICE: z.string().optional(),
  FUNCTION_TARGET: z.string().optional(),
});

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
  readonly log: { readonly minSeverity: (typeof severities)[number] };
  readonly runtime: { readonly service: string | undefined; readonly functionTarget: string | undefined };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Parses the environment; throws a `misconfigured` BrokerError naming every bad variable (never its value). */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
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
  return deepFreeze({
    projectId: e.GOOGLE_CLOUD_PROJECT,
    firestore: { emulatorHost: e.FIRESTORE_EMULATOR_HOST, databaseId: e.FIRESTORE_DATABASE_ID },
    kms: {
      keyName: e.KMS_KEY_NAME,
      apiEndpoint: e.KMS_API_ENDPOINT,
      dataKeyCacheTtlMs: e.KMS_DATA_KEY_CACHE_TTL_SECONDS * 1000,
      dataKeyCacheMaxEntries: e.KMS_DATA_KEY_CACHE_MAX_ENTRIES,
    },
    log: { minSeverity: e.LOG_LEVEL },
    runtime: { service: e.K_SERVICE, functionTarget: e.FUNCTION_TARGET },
  });
}

/** The process's configuration, parsed once: the one sanctioned read of process.env. */
let processConfig: Config | undefined;
export function processEnvironmentConfig(): Config {
  processConfig ??= loadConfig(process.env);
  return processConfig;
}
