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
import { type PubsubEmulator, startPubsubEmulator } from './pubsub-emulator.js';
import { localDrainIntervalMs, startLocalEvents } from './local-events.js';
import { type LocalSweeps, localSweepIntervalMs, startLocalSweeps } from './local-sweeps.js';
import { randomBytes } from 'node:crypto';
import { builtInProviders } from '../shared/providers/registry.js';
import { functionNames } from '../functions/names.js';
import { createDemoPage } from './demo/demo-page.js';
import { type IapIssuer, startIapIssuer } from './iap-issuer.js';
import { createLocalIapProxy } from './local-iap-proxy.js';
import { noteFirestoreProject } from './leak-ledger/leak-recorder.js';

export const LOCAL_PROJECT_ID = 'oauth-broker-local';
export const LOCAL_EVENTS_TOPIC = `projects/${LOCAL_PROJECT_ID}/topics/connection-events`;
export const LOCAL_KMS_KEY_NAME = `projects/${LOCAL_PROJECT_ID}/locations/global/keyRings/oauth-broker/cryptoKeys/token-sealing`;
const KMS_ROTATION_PERIOD_SECONDS = 90 * 24 * 3600;

/** Who is who on the local stack: the product backend that calls authorize and token, and its tenant. */
export const localIdentities = {
  demoCaller: `demo-backend@${LOCAL_PROJECT_ID}.iam.gserviceaccount.com`,
  demoTenant: 'demo-tenant',
  /** The one signed-in user of the demo product page. */
  demoUser: 'demo-user',
  /** The operator the local Identity-Aware Proxy stand-in signs in (the only entry on ADMIN_ALLOWLIST). */
  adminUser: 'operator@oauth-broker.local',
  /** Cloud Scheduler's service account: the only identity the refresh and health sweeps accept. */
  schedulerCaller: `broker-scheduler@${LOCAL_PROJECT_ID}.iam.gserviceaccount.com`,
  /** The identity the functions themselves run as (what the metadata server hands out). */
  runtimeServiceAccount: `broker-runtime@${LOCAL_PROJECT_ID}.iam.gserviceaccount.com`,
} as const;

export interface StackDescription {
  readonly projectId: string;
  readonly functionsOrigin: string;
  readonly functions: Readonly<Record<string, string>>;
  readonly firestoreEmulatorHost: string;
  /** Connection events: the Pub/Sub emulator, the topic, and the subscription the console printer reads. */
  readonly events: { readonly pubsubEmulatorHost: string; readonly topic: string; readonly printerSubscription: string };
  readonly kms: { readonly endpoint: string; readonly keyName: string };
  readonly idTokenIssuer: { readonly issuer: string; readonly certsUrl: string };
  readonly metadataServer: string;
  readonly providerSandbox: { readonly origin: string; readonly providers: readonly string[] };
  /** The redirect URI registered with every sandbox provider. */
  readonly callbackUrl: string;
  readonly demoCaller: string;
  readonly demoTenant: string;
  /** The scheduler's service account: the local timer calls the sweeps with its ID token (SWEEP_INTERVAL_SECONDS). */
  readonly schedulerCaller: string;
  readonly returnUrl: string;
  /**
   * The local operator. Sign in as them by opening `adminDashboard`: the local Identity-Aware Proxy stand-in
   * in front of the admin function adds a freshly signed X-Goog-IAP-JWT-Assertion naming them, as IAP would.
   * Scripts can use IAM instead: `npm run local:id-token -- --email <adminUser> --audience <functions.admin>`.
   */
  readonly adminUser: string;
  /** The admin dashboard through the local IAP stand-in; null when functions/admin.ts does not exist. */
  readonly adminDashboard: string | null;
  readonly startedAt: string;
}

/** The `aud` the local IAP stand-in signs for; shaped like a real backend service's, and named nowhere else. */
export const LOCAL_IAP_AUDIENCE = '/projects/0/global/backendServices/0';

export interface LocalStack {
  readonly description: StackDescription;
  /** The environment the functions were configured with (loadConfig's input). */
  readonly functionEnv: Readonly<Record<string, string>>;
  readonly kms: KmsStandin;
  readonly sandbox: ProviderSandbox;
  /** The local scheduler jobs; `runNow()` runs both sweeps at once. */
  readonly sweeps: LocalSweeps;
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
  /**
   * The Firestore project (and events topic) of this stack; LOCAL_PROJECT_ID by default. A test that shares the
   * run's emulator picks its own, so another stack's scheduled sweeps never touch its connections.
   */
  readonly projectId?: string;
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
  const projectId = options.projectId ?? LOCAL_PROJECT_ID;
  const eventsTopic = projectId === LOCAL_PROJECT_ID ? LOCAL_EVENTS_TOPIC : `projects/${projectId}/topics/connection-events`;
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    // Reverse order: functions first, so nothing calls a stand-in that is already gone. Popping makes a
    // second stop() a no-op.
    for (let stop = stoppers.pop(); stop; stop = stoppers.pop()) await stop().catch(() => undefined);
  };

  try {
    // The JVM is the slow part: start it first and bring up the rest while it boots.
    const emulatorStarting = startFirestoreEmulator(options.env ? { env: options.env } : {});
    // Over process.env, so a caller that names only some variables (FIRESTORE_EMULATOR_HOST) still finds Java.
    const pubsubStarting = startPubsubEmulator({ env: { ...process.env, ...options.env } });
    // Awaited below; until then a failure must not surface as an unhandled rejection (which would end the process
    // instead of rejecting startLocalStack), and whatever fails first, both are stopped once they are up.
    emulatorStarting.catch(() => undefined);
    pubsubStarting.catch(() => undefined);
    stoppers.push(
      () => emulatorStarting.then((emulator) => emulator.stop()),
      () => pubsubStarting.then((pubsub) => pubsub.stop()),
    );
    const [kms, issuer]: [KmsStandin, IdTokenIssuer] = await Promise.all([
      startKmsStandin({ dataDir: join(stateDir, 'kms') }),
      startIdTokenIssuer({ dataDir: stateDir === join(options.repoRoot, '.local') ? localIssuerDataDir(options.repoRoot) : join(stateDir, 'id-token-issuer') }),
    ]);
    const iap: IapIssuer = await startIapIssuer();
    stoppers.push(() => kms.stop(), () => issuer.stop(), () => iap.stop());
    kms.ensureKey(LOCAL_KMS_KEY_NAME, { rotationPeriodSeconds: KMS_ROTATION_PERIOD_SECONDS });
    progress(`KMS stand-in        ${kms.endpoint} (key ${LOCAL_KMS_KEY_NAME})`);
    progress(`ID-token issuer     ${issuer.url}`);

    const metadata: MetadataServer = await startMetadataServer({
      issuer,
      serviceAccountEmail: localIdentities.runtimeServiceAccount,
      projectId,
    });
    stoppers.push(() => metadata.stop());
    progress(`Metadata server     ${metadata.url}`);

    const functions: FunctionsServer = await startFunctionsServer({ port: options.port });
    stoppers.push(() => functions.stop());
    const functionUrl = (name: string) => `${functions.origin}/${name}`;
    const callbackUrl = functionUrl('callback');
    const demoReturnUrl = `${functions.origin}/demo/connected`;

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
    // Nobody wipes the stack's project: under tests, the whole-run leak check searches what it holds at the end.
    noteFirestoreProject(projectId, { emulatorHost: emulator.host });
    progress(
      `Firestore emulator  ${emulator.host}${emulator.started ? ` (started in ${(emulator.startupMs / 1000).toFixed(1)} s)` : ' (reused)'}`,
    );

    const pubsub: PubsubEmulator = await pubsubStarting;
    progress(`Pub/Sub emulator    ${pubsub.host}${pubsub.started ? ` (started in ${(pubsub.startupMs / 1000).toFixed(1)} s)` : ' (reused)'}`);

    const functionEnv: Record<string, string> = {
      GOOGLE_CLOUD_PROJECT: projectId,
      FIRESTORE_EMULATOR_HOST: emulator.host,
      PUBSUB_EMULATOR_HOST: pubsub.host,
      EVENTS_TOPIC: eventsTopic,
      KMS_KEY_NAME: LOCAL_KMS_KEY_NAME,
      KMS_API_ENDPOINT: kms.endpoint,
      ID_TOKEN_ISSUER: issuer.issuer,
      ID_TOKEN_CERTS_URL: issuer.certsUrl,
      ID_TOKEN_AUDIENCES: functionNames.map(functionUrl).join(','),
      GCE_METADATA_HOST: metadata.host,
      METADATA_SERVER_DETECTION: 'ping-only',
      PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(sandbox.originOverrides),
      ...providerClientEnv,
      LOG_LEVEL: options.env?.LOG_LEVEL ?? 'INFO',
      // The connect flow: the callback is the redirect URI registered above; only the demo page may be returned to.
      BROKER_CALLBACK_URL: callbackUrl,
      RETURN_URL_ALLOWLIST: demoReturnUrl,
      // The sweeps answer the scheduler only; locally a health check is due again after a minute, so changes show up.
      SCHEDULER_SERVICE_ACCOUNT: localIdentities.schedulerCaller,
      HEALTH_RECHECK_SECONDS: options.env?.HEALTH_RECHECK_SECONDS ?? '60',
      // The admin function: the local operator, signed in through the local IAP stand-in (or with an ID token).
      ADMIN_ALLOWLIST: localIdentities.adminUser,
      IAP_AUDIENCE: LOCAL_IAP_AUDIENCE,
      IAP_PUBLIC_KEYS_URL: iap.publicKeysUrl,
      CALLER_POLICY: JSON.stringify([
        {
          serviceAccount: localIdentities.demoCaller,
          tenants: [localIdentities.demoTenant],
          providers: '*',
          actions: ['connect', 'manage_connections', 'read_token'],
        },
      ]),
    };
    // Functions read their configuration from process.env through loadConfig, as on Cloud Run.
    Object.assign(process.env, functionEnv);
    const mounted = await functions.mountFunctions();
    // Events: the outbox is drained on a timer (EVENTS_DRAIN_INTERVAL_SECONDS) and each event printed on one line.
    const events = await startLocalEvents({ functionEnv, drainIntervalMs: localDrainIntervalMs(options.env ?? {}), print: progress });
    stoppers.push(() => events.stop());
    progress(`Connection events   ${events.topic}, printed from ${events.subscription}`);
    functions.mountLocal(
      'demo',
      createDemoPage({
        functionsOrigin: functions.origin,
        tenantId: localIdentities.demoTenant,
        userId: localIdentities.demoUser,
        providers: providerIds,
        mintIdToken: (audience) => issuer.mint({ email: localIdentities.demoCaller, audience }),
      }),
    );

    const adminDashboard = mounted.includes('admin') ? `${functions.origin}/iap/admin/` : null;
    if (adminDashboard !== null) {
      functions.mountLocal('iap', createLocalIapProxy({ mint: () => iap.mint({ email: localIdentities.adminUser, audience: LOCAL_IAP_AUDIENCE }) }));
      progress(`Admin dashboard     ${adminDashboard} (signed in as ${localIdentities.adminUser} by the local IAP stand-in)`);
    }

    // The scheduler jobs: both sweeps on a timer, called as the scheduler's service account (SWEEP_INTERVAL_SECONDS).
    const sweepIntervalMs = localSweepIntervalMs(options.env ?? {});
    const sweeps = startLocalSweeps({
      functions: Object.fromEntries(mounted.map((name) => [name, functionUrl(name)])),
      mintIdToken: (audience) => issuer.mint({ email: localIdentities.schedulerCaller, audience }),
      intervalMs: sweepIntervalMs,
      print: progress,
    });
    stoppers.push(() => sweeps.stop());
    progress(`Scheduler jobs      refresh and health every ${sweepIntervalMs / 1000} s, as ${localIdentities.schedulerCaller}`);

    const description: StackDescription = {
      projectId,
      functionsOrigin: functions.origin,
      functions: Object.fromEntries(mounted.map((name) => [name, functionUrl(name)])),
      firestoreEmulatorHost: emulator.host,
      events: { pubsubEmulatorHost: pubsub.host, topic: events.topic, printerSubscription: events.subscription },
      kms: { endpoint: kms.endpoint, keyName: LOCAL_KMS_KEY_NAME },
      idTokenIssuer: { issuer: issuer.issuer, certsUrl: issuer.certsUrl },
      metadataServer: metadata.url,
      providerSandbox: { origin: sandbox.origin, providers: providerIds },
      callbackUrl,
      demoCaller: localIdentities.demoCaller,
      demoTenant: localIdentities.demoTenant,
      schedulerCaller: localIdentities.schedulerCaller,
      returnUrl: demoReturnUrl,
      adminUser: localIdentities.adminUser,
      adminDashboard,
      startedAt: new Date().toISOString(),
    };
    await writeAtomically(join(stateDir, 'stack.json'), `${JSON.stringify(description, null, 2)}\n`);
    return { description, functionEnv, kms, sandbox, sweeps, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
