// Token-read benchmark: the warm read path (use case and HTTP function) against a bare Firestore get() of the same document.
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createCallerPolicy } from '../shared/auth/caller-policy.js';
import { loadConfig } from '../shared/config/config.js';
import { createVault } from '../shared/crypto/vault.js';
import { createLogger } from '../shared/log/logger.js';
import { createOAuthRuntime } from '../shared/oauth/oauth-runtime.js';
import { createProviderCatalog } from '../shared/providers/registry.js';
import { connectionRef } from '../shared/store/connection-reads.js';
import { createFirestore } from '../shared/store/firestore-client.js';
import { systemClock } from '../shared/time/clock.js';
import { cryptoIdSource } from '../shared/time/ids.js';
import { createRefreshEngine } from '../shared/usecases/refresh/refresh-engine.js';
import { readToken } from '../shared/usecases/token/read-token.js';
import { connectAtSandbox, registerSandboxClient } from '../test/support/connection-fixtures.js';
import { startFirestoreEmulator } from '../local/firestore-emulator.js';
import { startIdTokenIssuer } from '../local/id-token-issuer.js';
import { startKmsStandin } from '../local/kms-standin/server.js';
import { startProviderSandbox } from '../local/provider-sandbox/provider-sandbox.js';
import { formatTable, type Measurement, measure } from './measure.js';

const PROJECT_ID = 'bench-token-read';
const KEY_NAME = `projects/${PROJECT_ID}/locations/global/keyRings/bench/cryptoKeys/tokens`;
const CALLER = 'bench-reader@bench.iam.gserviceaccount.com';
const AUDIENCE = 'https://token.bench.test';
const OPERATIONS = { 1: 1500, 16: 4000 } as const;

export interface TokenReadReport {
  readonly rows: readonly Measurement[];
  readonly kmsCallsPerWarmRead: number;
  readonly table: string;
}

export async function runTokenReadBenchmark(log: (line: string) => void): Promise<TokenReadReport> {
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
      CALLER_POLICY: JSON.stringify([{ serviceAccount: CALLER, tenants: '*', providers: '*', actions: ['read_token'] }]),
      PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(sandbox.originOverrides),
      // The read-audit lines go to Cloud Logging in production; here they would only measure the terminal.
      LOG_LEVEL: 'WARNING',
      ...clientEnv,
    };
    const config = loadConfig(env);
    const firestore = createFirestore(config);
    stoppers.unshift(() => firestore.terminate());
    const logger = createLogger({ minSeverity: 'WARNING' });
    const vault = createVault(config, { clock: systemClock, logger });
    stoppers.unshift(() => vault.close());
    const { connectionId, grant } = await connectAtSandbox({ firestore, vault, sandbox, client, provider: 'zoom', tenantId: 'bench', userId: 'u-1' });
    log(`connection ${connectionId} (zoom, expires in ${Math.round(((grant.expiresAtMs ?? 0) - Date.now()) / 1000)} s)`);

    const engine = createRefreshEngine({
      firestore,
      vault,
      oauth: createOAuthRuntime({ overrides: config.providers.originOverrides }),
      catalog: createProviderCatalog(),
      clients: config.providerClients,
      settings: config.refresh,
      clock: systemClock,
      ids: cryptoIdSource,
      logger,
    });
    const dependencies = {
      firestore,
      engine,
      callerPolicy: createCallerPolicy(config.callerPolicy),
      defaultMinValidityMs: config.refresh.defaultMinValidityMs,
      clock: systemClock,
      ids: cryptoIdSource,
      logger,
    };
    const caller = { email: CALLER, subject: '1', audience: AUDIENCE, issuer: issuer.issuer };
    const byAccount = { tenantId: 'bench', userId: 'u-1', provider: 'zoom', accountId: grant.providerAccountId };
    const byUser = { tenantId: 'bench', userId: 'u-1', provider: 'zoom' };
    const docRef = connectionRef(firestore, connectionId);

    // The HTTP function in this process, on its own loopback port, with its own runtime (as on Cloud Run).
    Object.assign(process.env, env);
    await import('../functions/token.js');
    const server = getTestServer('token');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stoppers.unshift(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const idToken = issuer.mint({ email: CALLER, audience: AUDIENCE });
    const body = JSON.stringify(byAccount);
    const httpRead = async () => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${idToken}` }, body });
      if (response.status !== 200) throw new Error(`token function answered ${response.status}`);
      await response.arrayBuffer();
    };

    // Everything warm once (data key cached, certs fetched, gRPC channel up) before counting KMS calls.
    await readToken(dependencies, caller, byAccount);
    await httpRead();
    kms.resetCounters();

    const rows: Measurement[] = [];
    let useCaseReads = 0;
    for (const inFlight of [1, 16] as const) {
      const operations = OPERATIONS[inFlight];
      log(`measuring at ${inFlight} in flight...`);
      rows.push(await measure('firestore get() (floor)', () => docRef.get(), inFlight, operations));
      rows.push(await measure('token use case, accountId (get)', () => readToken(dependencies, caller, byAccount), inFlight, operations));
      rows.push(await measure('token use case, no accountId (query)', () => readToken(dependencies, caller, byUser), inFlight, operations));
      rows.push(await measure('token function over HTTP', httpRead, inFlight, operations));
      useCaseReads += 3 * (operations + Math.min(200, operations / 5));
    }
    const kmsCalls = Object.values(kms.calls).reduce((sum, count) => sum + count, 0);
    const floorFor = (row: Measurement) => rows.find((candidate) => candidate.inFlight === row.inFlight && candidate.label.startsWith('firestore'));
    const table = formatTable(rows, floorFor);
    return { rows, kmsCallsPerWarmRead: kmsCalls / useCaseReads, table };
  } finally {
    for (const stop of stoppers) await stop().catch(() => undefined);
  }
}
