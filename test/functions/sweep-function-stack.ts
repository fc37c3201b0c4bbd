// The refresh and health functions served by the real Functions Framework over the emulators, KMS stand-in, sandbox and a local ID-token issuer.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { inject, vi } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import { createVault, type Vault } from '../../shared/crypto/vault.js';
import { createLogger } from '../../shared/log/logger.js';
import { type BrokerRuntime, createBrokerRuntime } from '../../shared/usecases/broker-runtime.js';
import { closeEventPublisherOf } from '../../shared/usecases/events/runtime-event-publisher.js';
import { systemClock } from '../../shared/time/clock.js';
import { registerSandboxClient } from '../support/connection-fixtures.js';
import type { FirestoreTestProject } from '../support/firestore-test-project.js';
import { type IdTokenIssuer, startIdTokenIssuer } from '../../local/id-token-issuer.js';
import { type KmsStandin, startKmsStandin } from '../../local/kms-standin/server.js';
import { type ProviderSandbox, startProviderSandbox } from '../../local/provider-sandbox/provider-sandbox.js';
import { ensureSubscription, ensureTopic } from '../../local/pubsub-emulator-admin.js';

const KEY_NAME = 'projects/broker-test/locations/global/keyRings/broker/cryptoKeys/tokens';
export const SCHEDULER = 'broker-scheduler@acme-prod.iam.gserviceaccount.com';

export type SweepName = 'refresh' | 'health';

export interface SweepFunctionStack {
  readonly issuer: IdTokenIssuer;
  readonly sandbox: ProviderSandbox;
  readonly kms: KmsStandin;
  /** A vault on the same key, for writing fixtures the functions can open. */
  readonly vault: Vault;
  readonly clients: Readonly<Record<string, { clientId: string; clientSecret: string }>>;
  /** The functions' environment (loadConfig's input). */
  readonly env: Readonly<Record<string, string>>;
  readonly pubsubHost: string;
  readonly topic: string;
  /** A broker runtime on the same environment, for calling the use cases directly; its log lines land in `logLines`. */
  runtime(overrides?: Readonly<Record<string, string>>): BrokerRuntime;
  readonly logLines: string[];
  /** A fresh subscription to the events topic: it sees every event published from now on. */
  subscribe(name: string): Promise<string>;
  /** POSTs `{}` as Cloud Scheduler does, with an ID token of `email` (the scheduler's by default). */
  post(sweep: SweepName, options?: { email?: string | null }): Promise<Response>;
  /** The `aud` each sweep's callers' tokens must carry (ID_TOKEN_AUDIENCES). */
  readonly audiences: Readonly<Record<SweepName, string>>;
  /** POSTs `{}` with exactly these headers (and a JSON content type), for tokens `post` does not make. */
  postWithHeaders(sweep: SweepName, headers: Readonly<Record<string, string>>): Promise<Response>;
  stop(): Promise<void>;
}

export interface SweepFunctionStackOptions {
  readonly project: FirestoreTestProject;
  readonly providers: readonly string[];
  /** Which functions to load; both by default. */
  readonly sweeps?: readonly SweepName[];
  readonly env?: Readonly<Record<string, string>>;
}

export async function startSweepFunctionStack(options: SweepFunctionStackOptions): Promise<SweepFunctionStack> {
  const [sandbox, kms, issuer] = await Promise.all([startProviderSandbox(), startKmsStandin(), startIdTokenIssuer()]);
  kms.ensureKey(KEY_NAME);
  const clients: Record<string, { clientId: string; clientSecret: string }> = {};
  const clientEnv: Record<string, string> = {};
  for (const provider of options.providers) {
    const { client, env } = registerSandboxClient(sandbox, provider);
    clients[provider] = client;
    Object.assign(clientEnv, env);
  }
  const pubsubHost = inject('pubsubEmulatorHost');
  const topic = `projects/${options.project.projectId}/topics/connection-events`;
  await ensureTopic(pubsubHost, topic);
  const audiences = { refresh: 'https://refresh.broker.test', health: 'https://health.broker.test' } as const;
  const env: Record<string, string> = {
    GOOGLE_CLOUD_PROJECT: options.project.projectId,
    FIRESTORE_EMULATOR_HOST: options.project.config.firestore.emulatorHost ?? '',
    PUBSUB_EMULATOR_HOST: pubsubHost,
    EVENTS_TOPIC: topic,
    KMS_KEY_NAME: KEY_NAME,
    KMS_API_ENDPOINT: kms.endpoint,
    ID_TOKEN_ISSUER: issuer.issuer,
    ID_TOKEN_JWKS_URL: issuer.jwksUrl,
    ID_TOKEN_AUDIENCES: Object.values(audiences).join(','),
    SCHEDULER_SERVICE_ACCOUNT: SCHEDULER,
    PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(sandbox.originOverrides),
    PROVIDER_ENDPOINT_ALLOWLIST: JSON.stringify(sandbox.endpointAllowlist),
    METADATA_SERVER_DETECTION: 'none',
    SWEEP_JITTER_MS: '0',
    LOG_LEVEL: 'ERROR',
    ...clientEnv,
    ...options.env,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const sweeps = options.sweeps ?? (['refresh', 'health'] as const);
  const servers: Partial<Record<SweepName, Server>> = {};
  const urls: Partial<Record<SweepName, string>> = {};
  // Literal paths: the module loader resolves them ahead of time.
  const loaders: Record<SweepName, () => Promise<unknown>> = {
    refresh: () => import('../../functions/refresh.js'),
    health: () => import('../../functions/health.js'),
  };
  for (const name of sweeps) {
    await loaders[name]();
    servers[name] = getTestServer(name);
  }
  for (const name of sweeps) {
    const server = servers[name] as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }
  const vault = createVault(
    { kms: { keyName: KEY_NAME, apiEndpoint: kms.endpoint, dataKeyCacheMaxEntries: 100, dataKeyCacheTtlMs: 300_000 } },
    { clock: systemClock },
  );
  const logLines: string[] = [];
  const runtimes: BrokerRuntime[] = [];
  let subscriptions = 0;
  return {
    issuer,
    sandbox,
    kms,
    vault,
    clients,
    env,
    pubsubHost,
    topic,
    logLines,
    runtime: (overrides = {}) => {
      const runtime = createBrokerRuntime(loadConfig({ ...env, LOG_LEVEL: 'DEBUG', ...overrides }), {
        logger: createLogger({ sink: (line) => logLines.push(line), minSeverity: 'DEBUG' }),
      });
      runtimes.push(runtime);
      return runtime;
    },
    subscribe: async (name) => {
      subscriptions += 1;
      const subscription = `projects/${options.project.projectId}/subscriptions/${name}-${subscriptions}`;
      await ensureSubscription(pubsubHost, subscription, topic);
      return subscription;
    },
    post: async (sweep, postOptions = {}) => {
      const email = postOptions.email === undefined ? SCHEDULER : postOptions.email;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (email !== null) headers.authorization = `Bearer ${await issuer.mint({ email, audience: audiences[sweep] })}`;
      return fetch(urls[sweep] as string, { method: 'POST', headers, body: '{}' });
    },
    audiences,
    postWithHeaders: (sweep, headers) =>
      fetch(urls[sweep] as string, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' }),
    stop: async () => {
      for (const server of Object.values(servers) as Server[]) {
        await new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        });
      }
      for (const runtime of runtimes) {
        await closeEventPublisherOf(runtime).catch(() => undefined);
        await runtime.vault().close().catch(() => undefined);
      }
      await vault.close();
      await Promise.all([sandbox.close(), kms.stop(), issuer.stop()]);
      vi.unstubAllEnvs();
    },
  };
}
