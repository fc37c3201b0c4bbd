// Brings up the whole broker on one machine in production shape — emulators, KMS stand-in, ID-token issuer, metadata
// server, Cloud Run Admin API stand-in, provider sandbox, and each function as its own process from dist/ with exactly
// what functions/manifest.json gives it — and describes it in .local/stack.json. Used by `npm start` and by tests.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type FirestoreEmulator, startFirestoreEmulator } from './firestore-emulator.js';
import { type FrontProxy, startFrontProxy } from './front-proxy.js';
import { type FunctionProcess, startFunctionProcess } from './function-process.js';
import { ensureFunctionsBuilt } from './function-build.js';
import { manifestMismatches, readableVariablesOf, readFunctionManifest, standInVariablesOf } from './function-manifest.js';
import { startCloudRunAdminStandin } from './cloud-run-admin-standin.js';
import { findFreePort } from './free-port.js';
import { type IdTokenIssuer, localIssuerDataDir, startIdTokenIssuer } from './id-token-issuer.js';
import { type KmsStandin, startKmsStandin } from './kms-standin/server.js';
import { type MetadataServer, startMetadataServer } from './metadata-server.js';
import { type ProviderSandbox, startProviderSandbox } from './provider-sandbox/provider-sandbox.js';
import { type PubsubEmulator, startPubsubEmulator } from './pubsub-emulator.js';
import { localDrainIntervalMs, startLocalEvents } from './local-events.js';
import { type LocalSweeps, localSweepIntervalMs, startLocalSweeps } from './local-sweeps.js';
import { randomBytes } from 'node:crypto';
import { isConfigVariableName, isDeploymentVariable, loadConfig, platformVariables, standInVariables } from '../shared/config/config.js';
import { builtInProviders, catalogProviders } from '../shared/providers/registry.js';
import { type FunctionName, functionNames } from '../functions/names.js';
import { createDemoPage } from './demo/demo-page.js';
import { type IapIssuer, startIapIssuer } from './iap-issuer.js';
import { createLocalIapProxy } from './local-iap-proxy.js';
import { noteFirestoreProject, recordLogLine } from './leak-ledger/leak-recorder.js';

export const LOCAL_PROJECT_ID = 'oauth-broker-local';
export const LOCAL_EVENTS_TOPIC = `projects/${LOCAL_PROJECT_ID}/topics/connection-events`;
export const LOCAL_KMS_KEY_NAME = `projects/${LOCAL_PROJECT_ID}/locations/global/keyRings/oauth-broker/cryptoKeys/token-sealing`;
const KMS_ROTATION_PERIOD_SECONDS = 90 * 24 * 3600;
/** The region the local stand-ins name (the Cloud Run Admin API's service names, CLOUD_RUN_REGION). */
const LOCAL_REGION = 'local-region1';
/** Tuning settings (those with a default in loadConfig) a developer may set for npm start; never endpoints or credentials. */
function isLocalTuning(name: string): boolean {
  const fixedHere = [...standInVariables, ...platformVariables, 'LOG_LEVEL'] as readonly string[];
  return isConfigVariableName(name) && !isDeploymentVariable(name) && !fixedHere.includes(name) && !name.startsWith('PROVIDER_');
}

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
  /** Each function's own process: its pid and the loopback origin the front proxy forwards /<name> to. */
  readonly functionProcesses: Readonly<Record<string, { readonly pid: number; readonly origin: string }>>;
  readonly firestoreEmulatorHost: string;
  /** The emulator JVM's process id when this stack started it (benchmarks read its CPU); absent for a reused one. */
  readonly firestoreEmulatorPid?: number;
  /** Connection events: the Pub/Sub emulator, the topic, and the subscription the console printer reads. */
  readonly events: { readonly pubsubEmulatorHost: string; readonly topic: string; readonly printerSubscription: string };
  readonly kms: { readonly endpoint: string; readonly keyName: string };
  readonly idTokenIssuer: { readonly issuer: string; readonly jwksUrl: string };
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
  /** Every value the stack configured, as one environment: what its own tools (events printer, benchmarks) read. */
  readonly functionEnv: Readonly<Record<string, string>>;
  /** Exactly what each function process was given (its manifest entry, local stand-ins, the platform's own). */
  readonly functionEnvironments: Readonly<Record<FunctionName, Readonly<Record<string, string>>>>;
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
  /** Each line a function process writes (its JSON log lines); npm start keeps them in .local/logs/. */
  readonly onFunctionLog?: (name: FunctionName, line: string) => void;
  /** Extra Node options for some function processes (the benchmark profiles the token function with them). */
  readonly functionNodeOptions?: Readonly<Partial<Record<FunctionName, readonly string[]>>>;
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
    // The JVM is the slow part: start it first and bring up the rest (and the build, when dist/ is stale) while it boots.
    const building = ensureFunctionsBuilt(options.repoRoot);
    building.catch(() => undefined);
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

    // One origin for everything, as the README and .local/stack.json name it; each function's URL (and ID-token
    // audience) is /<name> on it, the way each Cloud Run function has its own URL.
    const front: FrontProxy = await startFrontProxy({ port: options.port });
    stoppers.push(() => front.stop());
    const functionUrl = (name: string) => `${front.origin}/${name}`;
    const callbackUrl = functionUrl('callback');
    const demoReturnUrl = `${front.origin}/demo/connected`;

    // The user's own providers, checked now as the functions will check them: a bad setting stops here, named.
    const userProviders = loadConfig({
      GOOGLE_CLOUD_PROJECT: projectId,
      OIDC_PROVIDERS: options.env?.OIDC_PROVIDERS,
      OAUTH2_PROVIDERS: options.env?.OAUTH2_PROVIDERS,
      OAUTH2_PROVIDERS_FILE: options.env?.OAUTH2_PROVIDERS_FILE,
    }).providers;
    const hasUserClient = (id: string) => Boolean(options.env?.[`PROVIDER_${id.toUpperCase()}_CLIENT_ID`]);
    // A data-defined provider the user gave no client for is played by the sandbox from its definition; one with the
    // user's own client is the real provider.
    const sandboxPlayed = userProviders.oauth2Providers.filter((provider) => !hasUserClient(provider.id));
    const sandbox = await startProviderSandbox({ dataProviders: sandboxPlayed });
    stoppers.push(() => sandbox.close());
    // Fresh client secrets each run: the sandbox and the functions learn them here and nowhere else.
    const providerClientEnv: Record<string, string> = {};
    const providerIds = [...builtInProviders, ...catalogProviders, ...sandboxPlayed].map((provider) => provider.id);
    const configuredProviderIds = [...userProviders.oidcProviders, ...userProviders.oauth2Providers]
      .map((provider) => provider.id)
      .filter((id) => !providerIds.includes(id));
    for (const id of providerIds) {
      const client = { clientId: `local-${id.replaceAll('_', '-')}`, clientSecret: randomBytes(24).toString('base64url') };
      sandbox.registerClient(id, { ...client, redirectUris: [callbackUrl] });
      providerClientEnv[`PROVIDER_${id.toUpperCase()}_CLIENT_ID`] = client.clientId;
      providerClientEnv[`PROVIDER_${id.toUpperCase()}_CLIENT_SECRET`] = client.clientSecret;
    }
    // A user's own providers (OIDC_PROVIDERS and their PROVIDER_<ID>_CLIENT_* settings) come from the environment.
    for (const [name, value] of Object.entries(options.env ?? {})) {
      if (value !== undefined && value !== '' && /^PROVIDER_[A-Z][A-Z0-9_]*_CLIENT_(ID|SECRET)$/.test(name)) providerClientEnv[name] = value;
    }
    progress(`Provider sandbox    ${sandbox.origin} (${providerIds.length} providers)`);

    // The sweeps trust Cloud Run's IAM check of the scheduler's token once they have proven, through the Cloud Run
    // Admin API, that only the scheduler may invoke them: the stand-in answers with the policy Terraform sets.
    const cloudRunAdmin = await startCloudRunAdminStandin();
    stoppers.push(() => cloudRunAdmin.stop());
    const serviceName = (name: string) => `oauth-broker-${name}`;
    for (const name of functionNames) {
      cloudRunAdmin.setService(`projects/${projectId}/locations/${LOCAL_REGION}/services/${serviceName(name)}`, {
        ingress: 'INGRESS_TRAFFIC_ALL',
        bindings: [{ role: 'roles/run.invoker', members: [`serviceAccount:${localIdentities.schedulerCaller}`] }],
      });
    }

    const emulator: FirestoreEmulator = await emulatorStarting;
    // Nobody wipes the stack's project: under tests, the whole-run leak check searches what it holds at the end.
    noteFirestoreProject(projectId, { emulatorHost: emulator.host });
    progress(
      `Firestore emulator  ${emulator.host}${emulator.started ? ` (started in ${(emulator.startupMs / 1000).toFixed(1)} s)` : ' (reused)'}`,
    );

    const pubsub: PubsubEmulator = await pubsubStarting;
    progress(`Pub/Sub emulator    ${pubsub.host}${pubsub.started ? ` (started in ${(pubsub.startupMs / 1000).toFixed(1)} s)` : ' (reused)'}`);

    const userEndpointAllowlist = options.env?.PROVIDER_ENDPOINT_ALLOWLIST ? (JSON.parse(options.env.PROVIDER_ENDPOINT_ALLOWLIST) as Record<string, unknown>) : {};
    // The values Terraform would give, for this machine; each function gets the names its manifest entry lists.
    const environmentValues: Record<string, string> = {
      GOOGLE_CLOUD_PROJECT: projectId,
      FIRESTORE_DATABASE_ID: '(default)',
      LOG_LEVEL: options.env?.LOG_LEVEL ?? 'INFO',
      KMS_KEY_NAME: LOCAL_KMS_KEY_NAME,
      EVENTS_TOPIC: eventsTopic,
      // The connect flow: the callback is the redirect URI registered above; only the demo page may be returned to.
      BROKER_CALLBACK_URL: callbackUrl,
      RETURN_URL_ALLOWLIST: demoReturnUrl,
      // As a new deployment: every tenant's grants wait for the product (the demo page) to confirm its user.
      CONNECT_CONFIRMATION_TENANTS: options.env?.CONNECT_CONFIRMATION_TENANTS || '*',
      // The demo backend on its tenant, unless the caller of the stack (a test) brings its own policy. Through the proxy
      // it may read (GET) any API path of the providers the broker proxies to; a real caller names its paths.
      CALLER_POLICY:
        options.env?.CALLER_POLICY ||
        JSON.stringify([
          {
            serviceAccount: localIdentities.demoCaller,
            tenants: [localIdentities.demoTenant],
            providers: '*',
            actions: ['connect', 'manage_connections', 'read_token', 'call_api'],
            api: Object.fromEntries(builtInProviders.filter((provider) => provider.api !== undefined).map((provider) => [provider.id, ['GET /**']])),
          },
        ]),
      // No quotas unless asked for, as Terraform's default.
      CALLER_QUOTAS: options.env?.CALLER_QUOTAS || '{}',
      OIDC_PROVIDERS: options.env?.OIDC_PROVIDERS || '[]',
      OAUTH2_PROVIDERS: options.env?.OAUTH2_PROVIDERS || '[]',
      // The servers the sandbox plays for SMART, and a user's own registrations (theirs win per provider).
      PROVIDER_ENDPOINT_ALLOWLIST: JSON.stringify({ ...sandbox.endpointAllowlist, ...userEndpointAllowlist }),
      // The admin function: the local operator, signed in through the local IAP stand-in (or with an ID token).
      ADMIN_ALLOWLIST: localIdentities.adminUser,
      IAP_AUDIENCE: LOCAL_IAP_AUDIENCE,
      // No Cloud Scheduler API here: "refresh all" sweeps inside the admin function, as without the job name.
      SCHEDULER_REFRESH_JOB: '',
      // The sweeps answer the scheduler only.
      SCHEDULER_SERVICE_ACCOUNT: localIdentities.schedulerCaller,
      CLOUD_RUN_IAM_VERIFIED_CALLERS: 'scheduler',
      CLOUD_RUN_REGION: LOCAL_REGION,
    };
    // Where this machine's stand-ins are: given to a function only for the services its code reads.
    const userOverrides = options.env?.PROVIDER_ORIGIN_OVERRIDES ? (JSON.parse(options.env.PROVIDER_ORIGIN_OVERRIDES) as Record<string, string>) : {};
    const standInValues: Record<string, string> = {
      FIRESTORE_EMULATOR_HOST: emulator.host,
      KMS_API_ENDPOINT: kms.endpoint,
      ID_TOKEN_ISSUER: issuer.issuer,
      ID_TOKEN_JWKS_URL: issuer.jwksUrl,
      // The sandbox plays the built-in providers; a user's own overrides win.
      PROVIDER_ORIGIN_OVERRIDES: JSON.stringify({ ...sandbox.originOverrides, ...userOverrides }),
      PUBSUB_EMULATOR_HOST: pubsub.host,
      IAP_JWKS_URL: iap.jwksUrl,
      CLOUD_RUN_ADMIN_API_URL: cloudRunAdmin.url,
    };
    // Settings a developer tunes locally (sweep pace, health recheck, ...) reach every function that reads them.
    const tuning = Object.fromEntries(Object.entries(options.env ?? {}).filter(([name, value]) => value !== undefined && value !== '' && isLocalTuning(name))) as Record<string, string>;
    tuning.HEALTH_RECHECK_SECONDS ??= '60';
    // Each function runs in the repository; a relative path means where npm start was run.
    if (tuning.OAUTH2_PROVIDERS_FILE !== undefined) tuning.OAUTH2_PROVIDERS_FILE = resolve(tuning.OAUTH2_PROVIDERS_FILE);

    const manifest = readFunctionManifest();
    const mismatches = manifestMismatches(manifest);
    if (mismatches.length > 0) throw new Error(`functions/manifest.json disagrees with the code:\n  ${mismatches.join('\n  ')}`);
    const functionEnvironments = {} as Record<FunctionName, Record<string, string>>;
    for (const name of functionNames) {
      const entry = manifest.functions[name];
      const env: Record<string, string> = {
        // The platform: the metadata server every Cloud Run instance has.
        GCE_METADATA_HOST: metadata.host,
        METADATA_SERVER_DETECTION: 'ping-only',
      };
      const readable = readableVariablesOf(name);
      for (const [variable, value] of Object.entries(tuning)) if (readable.has(variable)) env[variable] = value;
      for (const variable of entry.environment) env[variable] = variable === 'ID_TOKEN_AUDIENCES' ? functionUrl(name) : (environmentValues[variable] as string);
      for (const variable of standInVariablesOf(name)) env[variable] = standInValues[variable] as string;
      for (const [variable, value] of Object.entries(providerClientEnv)) {
        const secret = variable.endsWith('_SECRET');
        if (entry.providerCredentials === 'client_ids_and_secrets' || (entry.providerCredentials === 'client_ids' && !secret)) env[variable] = value;
      }
      functionEnvironments[name] = env;
    }

    // What the stack's own tools (the events printer, benchmarks, tests' direct reads) load: every value as one
    // environment, without the sweeps' trust in Cloud Run's IAM check, which only a sweep service can prove.
    const { CLOUD_RUN_IAM_VERIFIED_CALLERS: _sweepsOnly, ...toolValues } = environmentValues;
    const functionEnv: Record<string, string> = { ...toolValues, ...standInValues, ...providerClientEnv, ...tuning, ID_TOKEN_AUDIENCES: functionUrl('token') };
    // Events: the outbox is drained on a timer (EVENTS_DRAIN_INTERVAL_SECONDS) and each event printed on one line. Set up
    // (topic, subscription) while the function processes start rather than after them: it needs none of them.
    const eventsStarting = startLocalEvents({ functionEnv, drainIntervalMs: localDrainIntervalMs(options.env ?? {}), print: progress });
    eventsStarting.catch(() => undefined);
    stoppers.push(() => eventsStarting.then((events) => events.stop()));

    const build = await building;
    progress(`Functions build     ${build.built ? `dist/ rebuilt from changed sources in ${(build.ms / 1000).toFixed(1)} s` : 'dist/ up to date'}`);
    const starts = await Promise.allSettled(
      functionNames.map(async (name) =>
        startFunctionProcess({
          repoRoot: options.repoRoot,
          name,
          port: await findFreePort(),
          env: functionEnvironments[name],
          serviceName: serviceName(name),
          nodeOptions: options.functionNodeOptions?.[name] ?? [],
          onLine: (line) => {
            recordLogLine(`function ${name}`, line);
            options.onFunctionLog?.(name, line);
          },
        }),
      ),
    );
    const processes = starts.flatMap((start) => (start.status === 'fulfilled' ? [start.value] : []));
    // Stopped together (each may wait out its own graceful shutdown), and those that started are stopped when another did not.
    stoppers.push(async () => {
      await Promise.allSettled(processes.map((fn) => fn.stop()));
    });
    const failedStart = starts.find((start): start is PromiseRejectedResult => start.status === 'rejected');
    if (failedStart !== undefined) throw failedStart.reason;
    for (const fn of processes) front.route(fn.name, fn.origin, manifest.functions[fn.name].concurrency);
    const processOf = (name: FunctionName) => processes.find((fn) => fn.name === name) as FunctionProcess;
    const events = await eventsStarting;
    progress(`Connection events   ${events.topic}, printed from ${events.subscription}`);
    front.mountLocal(
      'demo',
      createDemoPage({
        functionsOrigin: front.origin,
        tenantId: localIdentities.demoTenant,
        userId: localIdentities.demoUser,
        providers: [...providerIds, ...configuredProviderIds],
        mintIdToken: (audience) => issuer.mint({ email: localIdentities.demoCaller, audience }),
      }),
    );

    const adminDashboard = `${front.origin}/iap/admin/`;
    front.mountLocal(
      'iap',
      createLocalIapProxy({
        adminOrigin: processOf('admin').origin,
        stackOrigin: front.origin,
        mint: () => iap.mint({ email: localIdentities.adminUser, audience: LOCAL_IAP_AUDIENCE }),
      }),
    );
    progress(`Admin dashboard     ${adminDashboard} (signed in as ${localIdentities.adminUser} by the local IAP stand-in)`);

    // The scheduler jobs: both sweeps on a timer, called as the scheduler's service account (SWEEP_INTERVAL_SECONDS).
    const sweepIntervalMs = localSweepIntervalMs(options.env ?? {});
    const sweeps = startLocalSweeps({
      functions: Object.fromEntries(functionNames.map((name) => [name, functionUrl(name)])),
      mintIdToken: (audience) => issuer.mint({ email: localIdentities.schedulerCaller, audience }),
      intervalMs: sweepIntervalMs,
      print: progress,
    });
    stoppers.push(() => sweeps.stop());
    progress(`Scheduler jobs      refresh and health every ${sweepIntervalMs / 1000} s, as ${localIdentities.schedulerCaller}`);

    const description: StackDescription = {
      projectId,
      functionsOrigin: front.origin,
      functions: Object.fromEntries(functionNames.map((name) => [name, functionUrl(name)])),
      functionProcesses: Object.fromEntries(processes.map((fn) => [fn.name, { pid: fn.pid, origin: fn.origin }])),
      firestoreEmulatorHost: emulator.host,
      ...(emulator.pid === undefined ? {} : { firestoreEmulatorPid: emulator.pid }),
      events: { pubsubEmulatorHost: pubsub.host, topic: events.topic, printerSubscription: events.subscription },
      kms: { endpoint: kms.endpoint, keyName: LOCAL_KMS_KEY_NAME },
      idTokenIssuer: { issuer: issuer.issuer, jwksUrl: issuer.jwksUrl },
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
    return { description, functionEnv, functionEnvironments, kms, sandbox, sweeps, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
