// Serves every function that exists in functions/ for the fuzzer, against a Firestore emulator project of its own,
// the KMS stand-in, the provider sandbox and local ID-token and IAP issuers; knows every secret it handed out.
import { randomBytes } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { type FunctionName, functionNames } from '../../functions/names.js';
import { loadConfig } from '../../shared/config/config.js';
import { createVault, type Vault } from '../../shared/crypto/vault.js';
import { builtInProviders } from '../../shared/providers/registry.js';
import { createFirestore } from '../../shared/store/firestore-client.js';
import { systemClock } from '../../shared/time/clock.js';
import { connectAtSandbox, FIXTURE_REDIRECT_URI } from '../support/connection-fixtures.js';
import { clearEmulatorProject } from '../support/firestore-test-project.js';
import { existingFunctionNames, type FunctionsServer, startFunctionsServer } from '../support/functions-server.js';
import { type IapIssuer, startIapIssuer } from '../../local/iap-issuer.js';
import { type IdTokenIssuer, startIdTokenIssuer } from '../../local/id-token-issuer.js';
import { type KmsStandin, startKmsStandin } from '../../local/kms-standin/server.js';
import { type ProviderSandbox, startProviderSandbox } from '../../local/provider-sandbox/provider-sandbox.js';

/** Who is who for the fuzzer: one allowed product backend, one service account nobody allowed, the scheduler, an operator. */
export const fuzzIdentities = {
  caller: 'fuzz-backend@fuzz-project.iam.gserviceaccount.com',
  stranger: 'stranger@elsewhere.iam.gserviceaccount.com',
  scheduler: 'fuzz-scheduler@fuzz-project.iam.gserviceaccount.com',
  operator: 'fuzz-operator@example.com',
  tenant: 'fuzz-tenant',
  otherTenant: 'other-tenant',
} as const;

export const FUZZ_IAP_AUDIENCE = '/projects/424242424242/global/backendServices/4242';
/** Providers with a stored connection before fuzzing starts, so authenticated requests reach real documents. */
const SEEDED_PROVIDERS = ['slack', 'google', 'zoom', 'notion'] as const;

export interface SeededConnection {
  readonly connectionId: string;
  readonly provider: string;
  readonly userId: string;
  readonly providerAccountId: string;
}

export interface FuzzStack {
  readonly origin: string;
  /** Functions served, in functions/names.ts order. */
  readonly functions: readonly FunctionName[];
  /** Names in functions/names.ts whose module does not exist (yet). */
  readonly skipped: readonly FunctionName[];
  readonly returnUrls: readonly string[];
  readonly sandbox: ProviderSandbox;
  readonly kms: KmsStandin;
  readonly idTokens: IdTokenIssuer;
  readonly iap: IapIssuer;
  readonly firestore: Firestore;
  readonly providerIds: readonly string[];
  readonly connections: readonly SeededConnection[];
  /** Client secrets the functions were configured with: no response may contain one. */
  readonly clientSecrets: readonly string[];
  urlOf(name: string): string;
  /** The `aud` a function accepts in callers' ID tokens: its own URL. */
  audienceOf(name: string): string;
  stop(): Promise<void>;
}

export interface FuzzStackOptions {
  readonly firestoreEmulatorHost: string;
  readonly projectId: string;
  readonly log?: (line: string) => void;
}

export async function startFuzzStack(options: FuzzStackOptions): Promise<FuzzStack> {
  const stoppers: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (let stop = stoppers.pop(); stop; stop = stoppers.pop()) await stop().catch(() => undefined);
  };
  try {
    const [kms, idTokens, iap, sandbox] = await Promise.all([startKmsStandin(), startIdTokenIssuer(), startIapIssuer(), startProviderSandbox()]);
    stoppers.push(() => kms.stop(), () => idTokens.stop(), () => iap.stop(), () => sandbox.close());
    const keyName = `projects/${options.projectId}/locations/global/keyRings/fuzz/cryptoKeys/tokens`;
    kms.ensureKey(keyName);

    const server: FunctionsServer = await startFunctionsServer({ port: 0 });
    stoppers.push(() => server.stop());
    const callbackUrl = server.urlOf('callback');
    const returnUrls = ['https://app.fuzz.test/settings/connected', 'http://127.0.0.1:9/connected'];

    const clientSecrets: string[] = [];
    const clientEnv: Record<string, string> = {};
    const clients: Record<string, { clientId: string; clientSecret: string }> = {};
    const providerIds = builtInProviders.map((provider) => provider.id);
    for (const id of providerIds) {
      const client = { clientId: `fuzz-${id}`, clientSecret: `fuzz-client-secret-${randomBytes(18).toString('base64url')}` };
      sandbox.registerClient(id, { ...client, redirectUris: [callbackUrl, FIXTURE_REDIRECT_URI] });
      clients[id] = client;
      clientSecrets.push(client.clientSecret);
      clientEnv[`PROVIDER_${id.toUpperCase()}_CLIENT_ID`] = client.clientId;
      clientEnv[`PROVIDER_${id.toUpperCase()}_CLIENT_SECRET`] = client.clientSecret;
    }
    const env: Record<string, string> = {
      GOOGLE_CLOUD_PROJECT: options.projectId,
      FIRESTORE_EMULATOR_HOST: options.firestoreEmulatorHost,
      KMS_KEY_NAME: keyName,
      KMS_API_ENDPOINT: kms.endpoint,
      ID_TOKEN_ISSUER: idTokens.issuer,
      ID_TOKEN_JWKS_URL: idTokens.jwksUrl,
      // Every name in the list, served or not: a function that appears later is configured already.
      ID_TOKEN_AUDIENCES: functionNames.map((name) => server.urlOf(name)).join(','),
      METADATA_SERVER_DETECTION: 'none',
      PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(sandbox.originOverrides),
      PROVIDER_ENDPOINT_ALLOWLIST: JSON.stringify(sandbox.endpointAllowlist),
      CALLER_POLICY: JSON.stringify([
        {
          serviceAccount: fuzzIdentities.caller,
          tenants: [fuzzIdentities.tenant],
          providers: '*',
          actions: ['connect', 'manage_connections', 'read_token'],
        },
      ]),
      BROKER_CALLBACK_URL: callbackUrl,
      RETURN_URL_ALLOWLIST: returnUrls.join(','),
      // The oracle expects a finished callback to have stored its connection, as without user confirmation.
      CONNECT_CONFIRMATION_TENANTS: 'none',
      SCHEDULER_SERVICE_ACCOUNT: fuzzIdentities.scheduler,
      SWEEP_JITTER_MS: '0',
      ADMIN_ALLOWLIST: fuzzIdentities.operator,
      IAP_AUDIENCE: FUZZ_IAP_AUDIENCE,
      IAP_JWKS_URL: iap.jwksUrl,
      // 5xx and unexpected failures are what the fuzzer looks for: their log lines stay visible.
      LOG_LEVEL: 'ERROR',
      ...clientEnv,
    };
    const config = loadConfig(env);
    await clearEmulatorProject(options.firestoreEmulatorHost, options.projectId);
    // Functions read their configuration from process.env through loadConfig, as on Cloud Run.
    Object.assign(process.env, env);
    const functions = await server.mountFunctions();
    const skipped = functionNames.filter((name) => !existingFunctionNames().includes(name));

    const firestore = createFirestore(config);
    stoppers.push(() => firestore.terminate());
    const vault: Vault = createVault(config, { clock: systemClock });
    stoppers.push(() => vault.close());
    const connections: SeededConnection[] = [];
    for (const [index, provider] of SEEDED_PROVIDERS.entries()) {
      const userId = `user-${index}`;
      const client = clients[provider];
      if (client === undefined) continue;
      const { connectionId, grant } = await connectAtSandbox({ firestore, vault, sandbox, client, provider, tenantId: fuzzIdentities.tenant, userId });
      connections.push({ connectionId, provider, userId, providerAccountId: grant.providerAccountId });
    }
    stoppers.push(() => clearEmulatorProject(options.firestoreEmulatorHost, options.projectId));
    options.log?.(`fuzz stack at ${server.origin}: serving ${functions.join(', ')}${skipped.length > 0 ? `; skipped (no module yet): ${skipped.join(', ')}` : ''}`);

    return {
      origin: server.origin,
      functions,
      skipped,
      returnUrls,
      sandbox,
      kms,
      idTokens,
      iap,
      firestore,
      providerIds,
      connections,
      clientSecrets,
      urlOf: (name) => server.urlOf(name as FunctionName),
      audienceOf: (name) => server.urlOf(name as FunctionName),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
