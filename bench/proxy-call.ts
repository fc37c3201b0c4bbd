// Proxy benchmark: a warm proxied provider API call over HTTP (the proxy function in this process) against calling the
// same sandbox API directly with the same token; the difference is what the broker adds.
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { loadConfig } from '../shared/config/config.js';
import { createVault } from '../shared/crypto/vault.js';
import { createLogger } from '../shared/log/logger.js';
import { createFirestore } from '../shared/store/firestore-client.js';
import { systemClock } from '../shared/time/clock.js';
import { connectAtSandbox, registerSandboxClient } from '../test/support/connection-fixtures.js';
import { startFirestoreEmulator } from '../local/firestore-emulator.js';
import { startIdTokenIssuer } from '../local/id-token-issuer.js';
import { startKmsStandin } from '../local/kms-standin/server.js';
import { startProviderSandbox } from '../local/provider-sandbox/provider-sandbox.js';
import { formatTable, type Measurement, measureAlternating } from './measure.js';

const PROJECT_ID = 'bench-proxy';
const KEY_NAME = `projects/${PROJECT_ID}/locations/global/keyRings/bench/cryptoKeys/tokens`;
const CALLER = 'bench-proxy@bench.iam.gserviceaccount.com';
const AUDIENCE = 'https://proxy.bench.test';
const OPERATIONS = { 1: 3000, 16: 4000 } as const;
/** Each path's measured calls are split into this many rounds, the paths taking turns; each is warmed first. */
const ROUNDS = 6;
const WARM_CALLS = 500;
/** The issue's target: what the proxy may add to a call at p50, one in flight. */
export const PROXY_ADDED_P50_TARGET_MS = 2;

export interface ProxyBenchmarkReport {
  readonly rows: readonly Measurement[];
  readonly table: string;
  /** Proxied p50 minus direct p50, by calls in flight. */
  readonly addedP50Ms: Readonly<Record<1 | 16, number>>;
  readonly addedP99Ms: Readonly<Record<1 | 16, number>>;
}

export async function runProxyBenchmark(log: (line: string) => void): Promise<ProxyBenchmarkReport> {
  // Nothing in this process may probe a real metadata server.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const emulator = await startFirestoreEmulator();
  const [kms, sandbox, issuer] = await Promise.all([startKmsStandin(), startProviderSandbox(), startIdTokenIssuer()]);
  const stoppers: (() => Promise<unknown>)[] = [() => emulator.stop(), () => kms.stop(), () => sandbox.close(), () => issuer.stop()];
  try {
    kms.ensureKey(KEY_NAME);
    const { client, env: clientEnv } = registerSandboxClient(sandbox, 'zoom');
    sandbox.configure('zoom', { tokenLifetimeSeconds: 3600 });
    const env = {
      GOOGLE_CLOUD_PROJECT: PROJECT_ID,
      FIRESTORE_EMULATOR_HOST: emulator.host,
      KMS_KEY_NAME: KEY_NAME,
      KMS_API_ENDPOINT: kms.endpoint,
      ID_TOKEN_ISSUER: issuer.issuer,
      ID_TOKEN_JWKS_URL: issuer.jwksUrl,
      ID_TOKEN_AUDIENCES: AUDIENCE,
      CALLER_POLICY: JSON.stringify([{ serviceAccount: CALLER, tenants: '*', providers: ['zoom'], actions: ['call_api'], api: { zoom: ['GET /users/me'] } }]),
      PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(sandbox.originOverrides),
      // The audit lines go to Cloud Logging in production; here they would only measure the terminal.
      LOG_LEVEL: 'WARNING',
      ...clientEnv,
    };
    const config = loadConfig(env);
    const firestore = createFirestore(config);
    stoppers.unshift(() => firestore.terminate());
    const vault = createVault(config, { clock: systemClock, logger: createLogger({ minSeverity: 'WARNING' }) });
    stoppers.unshift(() => vault.close());
    const { connectionId, grant } = await connectAtSandbox({ firestore, vault, sandbox, client, provider: 'zoom', tenantId: 'bench', userId: 'u-1' });
    log(`connection ${connectionId} (zoom)`);

    // The proxy function in this process, on its own loopback port, with its own runtime (as on Cloud Run).
    Object.assign(process.env, env);
    await import('../functions/proxy.js');
    const server = getTestServer('proxy');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stoppers.unshift(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
    const proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/zoom/users/me`;
    const idToken = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    const proxyHeaders = { authorization: `Bearer ${idToken}`, 'x-broker-tenant-id': 'bench', 'x-broker-user-id': 'u-1' };
    const directUrl = `${sandbox.originOverrides['https://api.zoom.us'] as string}/v2/users/me`;
    const directHeaders = { authorization: `Bearer ${grant.accessToken}` };
    const call = (url: string, headers: Record<string, string>) => async () => {
      const response = await fetch(url, { headers });
      if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
      await response.arrayBuffer();
    };
    const direct = call(directUrl, directHeaders);
    const proxied = call(proxyUrl, proxyHeaders);
    // Naming the account makes the connection one document read instead of a query, as for the token read.
    const proxiedByAccount = call(proxyUrl, { ...proxyHeaders, 'x-broker-account-id': grant.providerAccountId });
    await direct();
    await proxied();
    await proxiedByAccount();

    const rows: Measurement[] = [];
    for (const inFlight of [1, 16] as const) {
      log(`measuring at ${inFlight} in flight...`);
      const paths = [
        { label: 'sandbox API directly (floor)', operation: direct },
        { label: 'through the proxy function', operation: proxied },
        { label: 'through the proxy, account named (get)', operation: proxiedByAccount },
      ];
      rows.push(...(await measureAlternating(paths, inFlight, OPERATIONS[inFlight], { rounds: ROUNDS, warmCalls: WARM_CALLS })));
    }
    const row = (label: string, inFlight: number) => rows.find((candidate) => candidate.inFlight === inFlight && candidate.label.startsWith(label)) as Measurement;
    const added = (inFlight: 1 | 16, field: 'p50Ms' | 'p99Ms') => row('through', inFlight)[field] - row('sandbox', inFlight)[field];
    const table = formatTable(rows, (measured) => row('sandbox', measured.inFlight));
    return {
      rows,
      table,
      addedP50Ms: { 1: added(1, 'p50Ms'), 16: added(16, 'p50Ms') },
      addedP99Ms: { 1: added(1, 'p99Ms'), 16: added(16, 'p99Ms') },
    };
  } finally {
    for (const stop of stoppers) await stop().catch(() => undefined);
  }
}
