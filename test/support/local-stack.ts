// Brings up the whole broker on one machine — emulator, KMS stand-in, ID-token issuer, metadata server,
// every function — and describes it in .local/stack.json. Used by `npm start` and by the stack's own tests.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FirestoreEmulator, startFirestoreEmulator } from './firestore-emulator.js';
import { type FunctionsServer, startFunctionsServer } from './functions-server.js';
import { type IdTokenIssuer, localIssuerDataDir, startIdTokenIssuer } from './id-token-issuer.js';
import { type KmsStandin, startKmsStandin } from './kms-standin/server.js';
import { type MetadataServer, startMetadataServer } from './metadata-server.js';
import { type ProviderSandbox, startProviderSandbox } from './provider-sandbox/provider-sandbox.js';
import { randomBytes } from 'node:crypto';
import { builtInProviders } from '../../shared/providers/registry.js';

export const LOCAL_PROJECT_ID = 'oauth-broker-local';
export const LOCAL_KMS_KEY_NAME = `projects/${LOCAL_PROJECT_ID}/locations/global/keyRings/oauth-broker/cryptoKeys/token-sealing`;
const KMS_ROTATION_PERIOD_SECONDS = 90 * 24 * 3600;

/** Who is who on the local stack: the product backend that calls authorize and token, and its tenant. */
export const localIdentities = {
  demoCaller: `demo-backend@${LOCAL_PROJECT_ID}.iam.gserviceaccount.com`,
  demoTenant: 'demo-tenant',
  /** The identity the functions themselves run as (what the metadata server hands out). */
  runtimeServiceAccount: `broker-runtime@${LOCAL_PROJECT_ID}.iam.gserviceaccount.com`,
} as const;

export interface StackDescription {
  readonly projectId: string;
  readonly functionsOrigin: string;
  readonly functions: Readonly<Record<string, string>>;
  readonly firestoreEmulatorHost: string;
  readonly kms: { readonly endpoint: string; readonly keyName: string };
  readonly idTokenIssuer: { readonly issuer: string; readonly certsUrl: string };
  readonly metadataServer: string;
  readonly providerSandbox: { readonly origin: string; readonly providers: readonly string[] };
  /** The redirect URI registered with every sandbox provider. */
  readonly callbackUrl: string;
  readonly demoCaller: string;
  readonly demoTenant: string;
  readonly returnUrl: string;
  readonly startedAt: string;
}

export interface LocalStack {
  readonly description: StackDescription;
  /** The environment the functions were configured with (loadConfig's input). */
  readonly functionEnv: Readonly<Record<string, string>>;
  readonly kms: KmsStandin;
  readonly sandbox: ProviderSandbox;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  readonly repoRoot: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Where state (keys) and stack.json live; `<repoRoot>/.local` by default. */
  readonly stateDir?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly onProgress?: (message: string) => void;
}

async function writeAtomically(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  await rename(temporary, path);
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const stateDir = options.stateDir ?? join(options.repoRoot, '.local');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const progress = options.onProgress ?? (() => undefined);
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    // Reverse order: functions first, so nothing calls a stand-in that is already gone. Popping makes a
    // second stop() a no-op.
    for (let stop = stoppers.pop(); stop; stop = stoppers.pop()) await stop().catch(() => undefined);
  };

  try {
    // The JVM is the slow part: start it first and bring up the rest while it boots.
    const emulatorStarting = startFirestoreEmulator(options.env ? { env: options.env } : {});
    const [kms, issuer]: [KmsStandin, IdTokenIssuer] = await Promise.all([
      startKmsStandin({ dataDir: join(stateDir, 'kms') }),
      startIdTokenIssuer({ dataDir: stateDir === join(options.repoRoot, '.local') ? localIssuerDataDir(options.repoRoot) : join(stateDir, 'id-token-issuer') }),
    ]);
    stoppers.push(() => kms.stop(), () => issuer.stop());
    kms.ensureKey(LOCAL_KMS_KEY_NAME, { rotationPeriodSeconds: KMS_ROTATION_PERIOD_SECONDS });
    progress(`KMS stand-in        ${kms.endpoint} (key ${LOCAL_KMS_KEY_NAME})`);
    progress(`ID-token issuer     ${issuer.url}`);

    const metadata: MetadataServer = await startMetadataServer({
      issuer,
      serviceAccountEmail: localIdentities.runtimeServiceAccount,
      projectId: LOCAL_PROJECT_ID,
    });
    stoppers.push(() => metadata.stop());
    progress(`Metadata server     ${metadata.url}`);

    const functions: FunctionsServer = await startFunctionsServer({ port: options.port });
    stoppers.push(() => functions.stop());
    const functionUrl = (name: string) => `${functions.origin}/${name}`;
    const callbackUrl = functionUrl('callback');

    const sandbox = await startProviderSandbox();
    stoppers.push(() => sandbox.close());
    // Fresh client secrets each run: the sandbox and the functions learn them here and nowhere else.
    const providerClientEnv: Record<string, string> = {};
    const providerIds = builtInProviders.map((provider) => provider.id);
    for (const id of providerIds) {
      const client = { clientId: `local-${id.replaceAll('_', '-')}`, clientSecret: randomBytes(24).toString('base64url') };
      sandbox.registerClient(id, { ...client, redirectUris: [callbackUrl] });
      providerClientEnv[`PROVIDER_${id.toUpperCase()}_CLIENT_ID`] = client.clientId;
      providerClientEnv[`PROVIDER_${id.toUpperCase()}_CLIENT_SECRET`] = client.clientSecret;
    }
    progress(`Provider sandbox    ${sandbox.origin} (${providerIds.length} providers)`);

    const emulator: FirestoreEmulator = await emulatorStarting;
    stoppers.push(() => emulator.stop());
    progress(
      `Firestore emulator  ${emulator.host}${emulator.started ? ` (started in ${(emulator.startupMs / 1000).toFixed(1)} s)` : ' (reused)'}`,
    );

    const functionEnv: Record<string, string> = {
      GOOGLE_CLOUD_PROJECT: LOCAL_PROJECT_ID,
      FIRESTORE_EMULATOR_HOST: emulator.host,
      KMS_KEY_NAME: LOCAL_KMS_KEY_NAME,
      KMS_API_ENDPOINT: kms.endpoint,
      ID_TOKEN_ISSUER: issuer.issuer,
      ID_TOKEN_CERTS_URL: issuer.certsUrl,
      ID_TOKEN_AUDIENCES: ['authorize', 'callback', 'token', 'admin', 'refresh', 'health'].map(functionUrl).join(','),
      GCE_METADATA_HOST: metadata.host,
      METADATA_SERVER_DETECTION: 'ping-only',
      PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(sandbox.originOverrides),
      ...providerClientEnv,
      LOG_LEVEL: options.env?.LOG_LEVEL ?? 'INFO',
    };
    // Functions read their configuration from process.env through loadConfig, as on Cloud Run.
    Object.assign(process.env, functionEnv);
    const mounted = await functions.mountFunctions();

    const description: StackDescription = {
      projectId: LOCAL_PROJECT_ID,
      functionsOrigin: functions.origin,
      functions: Object.fromEntries(mounted.map((name) => [name, functionUrl(name)])),
      firestoreEmulatorHost: emulator.host,
      kms: { endpoint: kms.endpoint, keyName: LOCAL_KMS_KEY_NAME },
      idTokenIssuer: { issuer: issuer.issuer, certsUrl: issuer.certsUrl },
      metadataServer: metadata.url,
      providerSandbox: { origin: sandbox.origin, providers: providerIds },
      callbackUrl,
      demoCaller: localIdentities.demoCaller,
      demoTenant: localIdentities.demoTenant,
      returnUrl: `${functions.origin}/demo/connected`,
      startedAt: new Date().toISOString(),
    };
    await writeAtomically(join(stateDir, 'stack.json'), `${JSON.stringify(description, null, 2)}\n`);
    return { description, functionEnv, kms, sandbox, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
