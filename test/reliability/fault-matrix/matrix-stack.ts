// The fault matrix's stack: every function served in this process through the real Functions Framework, over one
// Firestore emulator project, the KMS stand-in, the provider sandbox and a local ID-token issuer; captures the log.
import type { Firestore } from '@google-cloud/firestore';
import { functionNames } from '../../../functions/names.js';
import { loadConfig } from '../../../shared/config/config.js';
import { createVault, type Vault } from '../../../shared/crypto/vault.js';
import { createOAuthRuntime, type OAuthRuntime } from '../../../shared/oauth/oauth-runtime.js';
import { createFirestore } from '../../../shared/store/firestore-client.js';
import { systemClock } from '../../../shared/time/clock.js';
import { FIXTURE_REDIRECT_URI } from '../../support/connection-fixtures.js';
import { clearEmulatorProject } from '../../support/firestore-test-project.js';
import { type FunctionsServer, startFunctionsServer } from '../../support/functions-server.js';
import { type IdTokenIssuer, startIdTokenIssuer } from '../../../local/id-token-issuer.js';
import { type KmsStandin, startKmsStandin } from '../../../local/kms-standin/server.js';
import { type ProviderSandbox, startProviderSandbox } from '../../../local/provider-sandbox/provider-sandbox.js';
import { MATRIX_PROVIDER } from './cells.js';

export const matrixIdentities = {
  reader: 'matrix-reader@matrix.iam.gserviceaccount.com',
  productBackend: 'matrix-backend@matrix.iam.gserviceaccount.com',
  scheduler: 'matrix-scheduler@matrix.iam.gserviceaccount.com',
  tenant: 'matrix-tenant',
} as const;

export const MATRIX_RETURN_URL = 'https://app.matrix.test/connected';
/** Short enough that a hanging provider costs a cell one second, long enough for a loaded loopback call. */
const PROVIDER_TIMEOUT_SECONDS = 1;

export interface MatrixStack {
  readonly sandbox: ProviderSandbox;
  readonly kms: KmsStandin;
  /** The functions' own project, read straight from the emulator. */
  readonly firestore: Firestore;
  /** A second client on the same project: the competing writer of the contention row. */
  readonly competitor: Firestore;
  /** A vault on the functions' key, for fixtures and for opening what the functions sealed. */
  readonly vault: Vault;
  /** Plain OAuth calls to the sandbox (fixtures, and proving a stored refresh token still works). */
  readonly oauth: OAuthRuntime;
  readonly client: { readonly clientId: string; readonly clientSecret: string };
  readonly callbackUrl: string;
  /** Every log line the functions wrote since the last `takeLogLines()`. */
  takeLogLines(): string[];
  urlOf(name: 'authorize' | 'callback' | 'token' | 'refresh' | 'health'): string;
  /** An ID token for `email`, with the audience of `functionName`. */
  idToken(email: string, functionName: 'authorize' | 'token' | 'refresh' | 'health'): Promise<string>;
  /** Deletes every document of the functions' project. */
  clear(): Promise<void>;
  stop(): Promise<void>;
}

export interface MatrixStackOptions {
  readonly firestoreEmulatorHost: string;
  readonly projectId: string;
}

/**
 * Starts the stack. The functions read their configuration from process.env when they first load, once per
 * process: start one matrix stack per process (a test file, or the benchmark's child process).
 */
export async function startMatrixStack(options: MatrixStackOptions): Promise<MatrixStack> {
  const stoppers: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (let stop = stoppers.pop(); stop; stop = stoppers.pop()) await stop().catch(() => undefined);
  };
  try {
    const [kms, issuer, sandbox]: [KmsStandin, IdTokenIssuer, ProviderSandbox] = await Promise.all([
      startKmsStandin(),
      startIdTokenIssuer(),
      startProviderSandbox(),
    ]);
    stoppers.push(() => kms.stop(), () => issuer.stop(), () => sandbox.close());
    const keyName = `projects/${options.projectId}/locations/global/keyRings/matrix/cryptoKeys/tokens`;
    kms.ensureKey(keyName);
    const server: FunctionsServer = await startFunctionsServer({ port: 0 });
    stoppers.push(() => server.stop());
    const callbackUrl = server.urlOf('callback');
    const client = { clientId: 'matrix-zoom-client', clientSecret: `matrix-zoom-secret-${'z'.repeat(24)}` };
    sandbox.registerClient(MATRIX_PROVIDER, { ...client, redirectUris: [callbackUrl, FIXTURE_REDIRECT_URI] });
    const prefix = `PROVIDER_${MATRIX_PROVIDER.toUpperCase()}_CLIENT`;
    const env: Record<string, string> = {
      GOOGLE_CLOUD_PROJECT: options.projectId,
      FIRESTORE_EMULATOR_HOST: options.firestoreEmulatorHost,
      KMS_KEY_NAME: keyName,
      KMS_API_ENDPOINT: kms.endpoint,
      ID_TOKEN_ISSUER: issuer.issuer,
      ID_TOKEN_JWKS_URL: issuer.jwksUrl,
      ID_TOKEN_AUDIENCES: functionNames.map((name) => server.urlOf(name)).join(','),
      METADATA_SERVER_DETECTION: 'none',
      PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(sandbox.originOverrides),
      PROVIDER_TIMEOUT_SECONDS: String(PROVIDER_TIMEOUT_SECONDS),
      // A refresh waits this long for a hanging provider (120 s by default), the token read's caller longer (10 s).
      REFRESH_REPLY_DEADLINE_SECONDS: String(PROVIDER_TIMEOUT_SECONDS),
      CALLER_POLICY: JSON.stringify([
        { serviceAccount: matrixIdentities.reader, tenants: [matrixIdentities.tenant], providers: [MATRIX_PROVIDER], actions: ['read_token'] },
        { serviceAccount: matrixIdentities.productBackend, tenants: [matrixIdentities.tenant], providers: [MATRIX_PROVIDER], actions: ['connect'] },
      ]),
      BROKER_CALLBACK_URL: callbackUrl,
      RETURN_URL_ALLOWLIST: MATRIX_RETURN_URL,
      // The callback row's invariants hold for the grant stored at the callback, as without user confirmation.
      CONNECT_CONFIRMATION_TENANTS: 'none',
      SCHEDULER_SERVICE_ACCOUNT: matrixIdentities.scheduler,
      SWEEP_JITTER_MS: '0',
      // Every health sweep checks every active connection: each cell has exactly one.
      HEALTH_RECHECK_SECONDS: '0',
      // No EVENTS_TOPIC: events stay in the outbox, where each cell reads them straight from the emulator.
      // Everything is logged, so the leak check sees every line a function could write.
      LOG_LEVEL: 'DEBUG',
      [`${prefix}_ID`]: client.clientId,
      [`${prefix}_SECRET`]: client.clientSecret,
    };
    const config = loadConfig(env);
    await clearEmulatorProject(options.firestoreEmulatorHost, options.projectId);

    // The functions log to stdout (Cloud Logging's way); the lines are kept for the leak check instead of printed.
    const logLines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    let partial = '';
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      partial += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      logLines.push(...lines.filter((line) => line !== ''));
      const callback = rest.find((value): value is () => void => typeof value === 'function');
      callback?.();
      return true;
    }) as typeof process.stdout.write;
    stoppers.push(async () => {
      process.stdout.write = write;
    });

    Object.assign(process.env, env);
    await server.mountFunctions();
    const firestore = createFirestore(config);
    const competitor = createFirestore(config);
    stoppers.push(() => firestore.terminate(), () => competitor.terminate());
    const vault = createVault(config, { clock: systemClock });
    stoppers.push(() => vault.close());
    stoppers.push(() => clearEmulatorProject(options.firestoreEmulatorHost, options.projectId));
    const oauth = createOAuthRuntime({ overrides: config.providers.originOverrides, timeoutMs: 5_000 });

    return {
      sandbox,
      kms,
      firestore,
      competitor,
      vault,
      oauth,
      client,
      callbackUrl,
      takeLogLines: () => logLines.splice(0),
      urlOf: (name) => server.urlOf(name),
      idToken: (email, functionName) => issuer.mint({ email, audience: server.urlOf(functionName) }),
      clear: () => clearEmulatorProject(options.firestoreEmulatorHost, options.projectId),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
