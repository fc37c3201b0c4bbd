// Refresh-sweep benchmark: 2,000 expiring connections, a provider answering in 50 ms, 160 in flight, the stand-ins
// (KMS, provider sandbox) in a process of their own — wall time against the storage floor and the provider-bound ideal.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { BulkWriter, DocumentReference, FieldValue, type Firestore, Timestamp, Transaction, WriteBatch } from '@google-cloud/firestore';
import { loadConfig } from '../shared/config/config.js';
import type { Vault } from '../shared/crypto/vault.js';
import { createLogger } from '../shared/log/logger.js';
import { buildAuthorizationRequest } from '../shared/oauth/authorization-request.js';
import { validateAuthorizationResponse } from '../shared/oauth/authorization-response.js';
import { exchangeCode, refreshGrant } from '../shared/oauth/grants.js';
import { createOAuthRuntime, type OAuthRuntime } from '../shared/oauth/oauth-runtime.js';
import { routeProviderUrl } from '../shared/oauth/origin-overrides.js';
import type { ClientCredentials, ConnectedGrant } from '../shared/oauth/token-set.js';
import { createProviderCatalog } from '../shared/providers/registry.js';
import { sealCredentials } from '../shared/store/connection-credentials.js';
import { type ConnectionDocument, connectionDocumentSchema, connectionIdFor } from '../shared/store/connection-document.js';
import { connectionRef } from '../shared/store/connection-reads.js';
import { RecordedWrites } from '../shared/store/atomic-writes.js';
import { commitInGroup, updateInGroup } from '../shared/store/write-groups.js';
import { createBrokerRuntime } from '../shared/usecases/broker-runtime.js';
import { runRefreshSweep } from '../shared/usecases/sweeps/refresh-sweep.js';
import { FIXTURE_REDIRECT_URI, readStoredConnection, sandboxClientOf } from '../test/support/connection-fixtures.js';
import { startFirestoreEmulator } from '../local/firestore-emulator.js';
import { cpuWindow } from './http-load/run-http-load.js';
import { startStandinsProcess } from './standins-process.js';

const PROJECT_ID = 'bench-refresh-sweep';
const KEY_NAME = `projects/${PROJECT_ID}/locations/global/keyRings/bench/cryptoKeys/tokens`;
export const CONNECTIONS = 2_000;
export const LATENCY_MS = 50;
/**
 * The sweep's slots. Each spends LATENCY_MS of every refresh at the provider, so the slots must be many for the sweep
 * to be held by the machine rather than by the provider's waits. With outcomes committed in groups, 80 slots left the
 * cores 72% busy (3.61 s against a 2.78 s floor, 1.30x, one run) and 160 kept them 82-83% busy (3.86 s against 3.33 s,
 * 1.16x; 4.01 s against 3.63 s, 1.11x). The floor is measured at the same levels, so the slots buy the sweep nothing
 * they do not also buy the floor.
 */
export const CONCURRENCY = 160;
/** The floor is the emulator's best pace over these levels, so a sweep at any concurrency is read against the fastest. */
const FLOOR_IN_FLIGHT = [20, 40, 80, 160] as const;
/**
 * The emulator's JVM keeps getting faster for minutes: measured, the floor's pace at 40 in flight over three passes in a
 * row went 330, 395, 438 transactions/s, and the sweep's own writes, replayed before the sweep and twice after it, cost
 * the emulator 3.0, 1.9 and 1.6 ms of CPU per connection. Whatever runs first is measured on a colder emulator. So a
 * sweep of its own runs before anything is measured, and every floor level runs once to warm up, then again to measure.
 */
export const WARM_UP_CONNECTIONS = 1_000;
const FLOOR_WARM_UP_PASSES = 1;
/** Setup runs this many consent flows and seals at once; Firestore batches hold up to 500 writes. */
const SETUP_PARALLELISM = 32;
const BATCH_SIZE = 400;

export interface RefreshSweepBenchReport {
  readonly connections: number;
  /** The sweep's slots and the sandbox's answer time, as run. */
  readonly concurrency: number;
  readonly latencyMs: number;
  readonly wallMs: number;
  readonly idealMs: number;
  readonly refreshesPerSecond: number;
  readonly refreshed: number;
  readonly providerRefreshCalls: number;
  readonly duplicateRefreshCalls: number;
  readonly lostTokens: number;
  readonly failed: number;
  readonly remaining: number;
  readonly setupMs: number;
  /** The emulator's own pace: single-document get+update transactions per second, the best of FLOOR_IN_FLIGHT once warm. */
  readonly storageTransactionsPerSecond: number;
  /** What the sweep's two transactions per connection (lease claim, fenced write) cost at that pace alone. */
  readonly storageFloorMs: number;
  /** The writes the sweep made, replayed on copies of the same documents with nothing else running, at its concurrency. */
  readonly ownWritesAloneMs: number;
  /** Reading transactions the sweep started (runTransaction, retries not counted), per refreshed connection. */
  readonly transactionsPerRefresh: number;
  /**
   * Document reads (plain or in a transaction) and commits (a transaction's or a batch's: each atomic, each one request,
   * a batch carrying the outcomes of one turn), per refreshed connection.
   */
  readonly readsPerRefresh: number;
  readonly commitsPerRefresh: number;
  /**
   * CPU per connection, in ms, of this process (the broker), the stand-ins' process (KMS, provider sandbox) and the
   * emulator's JVM: over the floor's best measured level (two transactions count as one connection), the own-writes
   * replay and the sweep; null when the emulator was reused (no process to read). With the share of the machine's cores
   * the three kept busy over the sweep.
   */
  readonly cpuPerConnection: {
    readonly floor: CpuSpent | null;
    readonly ownWritesAlone: CpuSpent | null;
    readonly sweep: CpuSpent | null;
    readonly sweepBusyShare: number | null;
    readonly cores: number;
  };
  /** Conditional updates sent in BatchWrite groups (store/write-groups.ts: claims, extensions), and the groups, per refreshed connection. */
  readonly groupedWritesPerRefresh: number;
  readonly writeGroupsPerRefresh: number;
}

/**
 * Counts, from now on, the transactions started and the BatchWrite groups opened through this client, and the document
 * reads, write commits and grouped writes made through any client (the sweep's claims, extensions and commits; nothing
 * else runs meanwhile). Reads are counted at the client's two public read methods, commits at the transaction and batch
 * entry points, grouped writes at BulkWriter's update. The returned function stops counting and gives the counts.
 */
function countStorageCalls(firestore: Firestore): () => { transactions: number; reads: number; commits: number; groupedWrites: number; writeGroups: number } {
  const counts = { transactions: 0, reads: 0, commits: 0, groupedWrites: 0, writeGroups: 0 };
  const original = firestore.runTransaction.bind(firestore);
  firestore.runTransaction = ((...args: Parameters<Firestore['runTransaction']>) => {
    counts.transactions += 1;
    counts.commits += 1;
    return original(...args);
  }) as Firestore['runTransaction'];
  const originalBulkWriter = firestore.bulkWriter.bind(firestore);
  firestore.bulkWriter = ((...args: Parameters<Firestore['bulkWriter']>) => {
    counts.writeGroups += 1;
    return originalBulkWriter(...args);
  }) as Firestore['bulkWriter'];
  const spies = [
    [DocumentReference.prototype, 'get', 'reads'],
    [Transaction.prototype, 'get', 'reads'],
    [WriteBatch.prototype, 'commit', 'commits'],
    [BulkWriter.prototype, 'update', 'groupedWrites'],
  ] as const;
  const restores = spies.map(([prototype, method, counter]) => {
    const target = prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const wrapped = target[method] as (...args: unknown[]) => unknown;
    target[method] = function (this: unknown, ...args: unknown[]) {
      counts[counter] += 1;
      return wrapped.apply(this, args);
    };
    return () => {
      target[method] = wrapped;
    };
  });
  return () => {
    firestore.runTransaction = original;
    firestore.bulkWriter = originalBulkWriter;
    for (const restore of restores) restore();
    return { ...counts };
  };
}

/** Transactions per connection the sweep cannot avoid: the lease claim and the fenced write of the result. */
export const TRANSACTIONS_PER_REFRESH = 2;

/**
 * The storage floor: plain get+update transactions on scratch documents of the connections' size, `inFlight` at once,
 * with nothing else running. The emulator serves transactions at a fixed pace that no code of ours can
 * beat, so the sweep's wall time is read beside this as well as beside the provider-bound ideal.
 */
export async function measureTransactionPace(
  firestore: Firestore,
  count: number,
  inFlight: number,
  watched: WatchedProcesses,
): Promise<{ perSecond: number; cpu: CpuSpent | null }> {
  const scratch = firestore.collection(`bench-transaction-pace-${inFlight}`);
  for (let start = 0; start < count; start += BATCH_SIZE) {
    const batch = firestore.batch();
    for (let index = start; index < Math.min(count, start + BATCH_SIZE); index += 1) batch.set(scratch.doc(`d${index}`), { n: 0, pad: 'x'.repeat(2_000) });
    await batch.commit();
  }
  const spent = processesCpu(watched);
  const began = performance.now();
  await inParallel(count, inFlight, (index) =>
    firestore.runTransaction(async (transaction) => {
      const snapshot = await transaction.get(scratch.doc(`d${index}`));
      transaction.update(snapshot.ref, { n: Number(snapshot.get('n')) + 1 });
    }),
  );
  return { perSecond: (count / (performance.now() - began)) * 1000, cpu: spent() };
}

export interface CpuSpent {
  readonly benchMs: number;
  readonly standinsMs: number;
  readonly emulatorMs: number;
}

/** The processes besides this one whose CPU is read: the emulator's JVM (undefined when reused) and the stand-ins'. */
export interface WatchedProcesses {
  readonly emulator: number | undefined;
  readonly standins: number;
}

/** Starts a window over the CPU of this process and the watched ones; its end gives null for a reused emulator. */
export function processesCpu(watched: WatchedProcesses): () => CpuSpent | null {
  const window = cpuWindow({ benchMs: process.pid, standinsMs: watched.standins, emulatorMs: watched.emulator });
  return () => {
    const { benchMs, standinsMs, emulatorMs } = window();
    return benchMs === null || standinsMs === null || emulatorMs === null ? null : { benchMs, standinsMs, emulatorMs };
  };
}

export function perConnection(spent: CpuSpent | null, connections: number): CpuSpent | null {
  return spent === null ? null : { benchMs: spent.benchMs / connections, standinsMs: spent.standinsMs / connections, emulatorMs: spent.emulatorMs / connections };
}

/**
 * The sweep's own writes with nothing else running: a copy of each connection document (in a scratch collection) gets
 * the two writes a refresh makes, as the lease module makes them (the claim's update of the lease, conditioned on the
 * version read and sent with the other claims of its turn; the commit's update of credentials, schedule and lease,
 * conditioned on the claim's version, with an audit entry created beside it, committed with the other outcomes of its
 * turn), `inFlight` connections at once. What storage alone costs the sweep on this machine.
 */
async function measureOwnWritesAlone(firestore: Firestore, ids: readonly string[], inFlight: number, watched: WatchedProcesses): Promise<{ ms: number; cpu: CpuSpent | null }> {
  const scratch = firestore.collection('bench-refresh-writes');
  const audit = firestore.collection('bench-refresh-writes-audit');
  const originals = await firestore.getAll(...ids.map((id) => connectionRef(firestore, id)));
  for (let start = 0; start < originals.length; start += BATCH_SIZE) {
    const batch = firestore.batch();
    for (const original of originals.slice(start, start + BATCH_SIZE)) batch.set(scratch.doc(original.id), original.data() ?? {});
    await batch.commit();
  }
  const copies = await firestore.getAll(...ids.map((id) => scratch.doc(id)));
  const spent = processesCpu(watched);
  const began = performance.now();
  await inParallel(copies.length, inFlight, async (index) => {
    const copy = copies[index] as (typeof copies)[number];
    const nowMs = Date.now();
    const stamp = { changedAt: FieldValue.serverTimestamp() };
    const claimed = await updateInGroup(
      copy.ref,
      { lease: { holder: `bench/${index}`, expiresAtMs: nowMs + 30_000, version: 1 }, ...stamp },
      { lastUpdateTime: copy.updateTime as Timestamp },
    );
    const unit = new RecordedWrites();
    unit.update(
      copy.ref,
      {
        credentials: copy.get('credentials'),
        expiresAtMs: nowMs + 3_600_000,
        nextRefreshAtMs: nowMs + 3_300_000,
        refresh: { lastRefreshAtMs: nowMs, consecutiveFailures: 0, lastErrorCode: null },
        lease: { holder: null, expiresAtMs: 0, version: 1 },
        updatedAtMs: nowMs,
        ...stamp,
      },
      { lastUpdateTime: claimed.writeTime },
    );
    unit.create(audit.doc(), {
      action: 'connection.refreshed',
      actor: { type: 'scheduler', id: 'broker-scheduler@bench.iam.gserviceaccount.com' },
      tenantId: copy.get('tenantId'),
      userId: copy.get('userId'),
      provider: copy.get('provider'),
      connectionId: copy.id,
      outcome: 'success',
      reason: null,
      atMs: nowMs,
      expireAt: Timestamp.fromMillis(nowMs + 400 * 24 * 3_600_000),
    });
    await commitInGroup(firestore, unit);
  });
  return { ms: performance.now() - began, cpu: spent() };
}

async function inParallel<T>(count: number, parallelism: number, work: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallelism }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        results[index] = await work(index);
      }
    }),
  );
  return results;
}

/** The real authorization-code flow at the sandbox, for one account: a grant with a working, rotating refresh token. */
async function consent(oauth: OAuthRuntime, client: ClientCredentials, account: string): Promise<ConnectedGrant> {
  const provider = createProviderCatalog().resolve('zoom');
  const state = oauth.ids.secretToken(24);
  const request = await buildAuthorizationRequest(oauth, provider, { clientId: client.clientId, redirectUri: FIXTURE_REDIRECT_URI, scopes: [], state, connectionConfig: {} });
  const scripted = new URL(request.url);
  scripted.searchParams.set('sandbox_decision', 'approve');
  scripted.searchParams.set('sandbox_account', account);
  const answer = await fetch(routeProviderUrl(scripted.href, oauth.http.overrides), { redirect: 'manual' });
  const params = new URL(answer.headers.get('location') ?? 'about:blank').searchParams;
  const { code } = await validateAuthorizationResponse(oauth, provider, { params, expectedState: state, connectionConfig: {} });
  return exchangeCode(oauth, provider, {
    client,
    code,
    redirectUri: FIXTURE_REDIRECT_URI,
    requestedScopes: request.scopes,
    connectionConfig: {},
    ...(request.codeVerifier ? { codeVerifier: request.codeVerifier } : {}),
  });
}

/**
 * Connects `count` sandbox accounts of `tenantId` and writes their connections in batches, each due in a minute (sealed
 * with the real vault).
 */
export async function seedConnections(
  firestore: Firestore,
  vault: Vault,
  oauth: OAuthRuntime,
  client: ClientCredentials,
  count: number,
  tenantId: string,
): Promise<string[]> {
  const nowMs = Date.now();
  const documents = await inParallel(count, SETUP_PARALLELISM, async (index) => {
    const grant = await consent(oauth, client, `${tenantId}-acct-${index}`);
    const who = { tenantId, userId: `u-${index}`, provider: 'zoom', providerAccountId: grant.providerAccountId };
    const id = connectionIdFor(who);
    const document: ConnectionDocument = connectionDocumentSchema.parse({
      ...who,
      kind: 'oauth2',
      displayName: null,
      scopes: grant.scopes,
      status: 'active',
      statusReason: null,
      credentials: await sealCredentials(vault, { accessToken: grant.accessToken, ...(grant.refreshToken ? { refreshToken: grant.refreshToken } : {}) }, { connectionId: id, tenantId }),
      // Due now, spread over the last minute, as a real backlog would be.
      expiresAtMs: nowMs + 60_000,
      nextRefreshAtMs: nowMs - 60_000 + Math.floor((index / count) * 60_000),
      refresh: { lastRefreshAtMs: null, consecutiveFailures: 0, lastErrorCode: null },
      health: { status: 'healthy', checkedAtMs: nowMs, latencyMs: null, errorCode: null },
      metadata: grant.metadata,
      connectionConfig: {},
      createdAtMs: nowMs,
      updatedAtMs: nowMs,
      revokedAtMs: null,
    });
    return { id, document };
  });
  for (let start = 0; start < documents.length; start += BATCH_SIZE) {
    const batch = firestore.batch();
    for (const { id, document } of documents.slice(start, start + BATCH_SIZE)) batch.set(connectionRef(firestore, id), document);
    await batch.commit();
  }
  return documents.map(({ id }) => id);
}

/**
 * Connections whose stored refresh token the provider no longer takes (or that were not refreshed at all). Each is
 * refreshed once more at the sandbox, so set its latency to 0 first.
 */
export async function countLostTokens(
  firestore: Firestore,
  vault: Vault,
  oauth: OAuthRuntime,
  client: ClientCredentials,
  ids: readonly string[],
  sweepStartedMs: number,
): Promise<number> {
  const provider = createProviderCatalog().resolve('zoom');
  const lost = await inParallel(ids.length, SETUP_PARALLELISM, async (index) => {
    const { connection, credentials } = await readStoredConnection(firestore, vault, ids[index] as string);
    if ((connection.document.refresh.lastRefreshAtMs ?? 0) < sweepStartedMs || credentials.refreshToken === undefined) return 1;
    try {
      // The stored (rotated) refresh token must still work: a duplicate refresh would have invalidated it.
      await refreshGrant(oauth, provider, { client, refreshToken: credentials.refreshToken, scopes: [], connectionConfig: {} });
      return 0;
    } catch {
      return 1;
    }
  });
  return lost.reduce<number>((sum, value) => sum + value, 0);
}

/**
 * The emulator's best transaction pace over FLOOR_IN_FLIGHT, each level run once to warm up first, and the CPU per
 * connection at that level (two transactions count as one connection).
 */
export async function measureStorageFloor(
  firestore: Firestore,
  watched: WatchedProcesses,
  log: (line: string) => void,
): Promise<{ perSecond: number; cpuPerConnection: CpuSpent | null }> {
  let best = { perSecond: 0, cpuPerConnection: null as CpuSpent | null };
  for (let pass = 0; pass <= FLOOR_WARM_UP_PASSES; pass += 1) {
    const warmUp = pass < FLOOR_WARM_UP_PASSES;
    for (const inFlight of FLOOR_IN_FLIGHT) {
      const pace = await measureTransactionPace(firestore, CONNECTIONS, inFlight, watched);
      log(`the emulator's transaction pace${warmUp ? ' (warm-up, not counted)' : ''}: ${pace.perSecond.toFixed(0)}/s (${CONNECTIONS} get+update transactions, ${inFlight} in flight)`);
      if (warmUp || pace.perSecond <= best.perSecond) continue;
      best = { perSecond: pace.perSecond, cpuPerConnection: perConnection(pace.cpu, CONNECTIONS / TRANSACTIONS_PER_REFRESH) };
    }
  }
  return best;
}

export async function runRefreshSweepBenchmark(log: (line: string) => void): Promise<RefreshSweepBenchReport> {
  process.env.METADATA_SERVER_DETECTION = 'none';
  const emulator = await startFirestoreEmulator();
  const { client, env: clientEnv } = sandboxClientOf('zoom');
  const standins = await startStandinsProcess({ keyName: KEY_NAME, clients: { zoom: { ...client, redirectUris: [FIXTURE_REDIRECT_URI] } } });
  const stoppers: (() => Promise<unknown>)[] = [() => emulator.stop(), () => standins.stop()];
  const watched: WatchedProcesses = { emulator: emulator.pid, standins: standins.pid };
  try {
    const config = loadConfig({
      GOOGLE_CLOUD_PROJECT: PROJECT_ID,
      FIRESTORE_EMULATOR_HOST: emulator.host,
      KMS_KEY_NAME: KEY_NAME,
      KMS_API_ENDPOINT: standins.kmsEndpoint,
      PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(standins.originOverrides),
      // Per-refresh lines go to Cloud Logging in production; here they would only measure the terminal.
      LOG_LEVEL: 'ERROR',
      ...clientEnv,
    });
    const runtime = createBrokerRuntime(config, { logger: createLogger({ minSeverity: 'ERROR' }) });
    const firestore = runtime.firestore();
    stoppers.unshift(() => firestore.terminate(), () => runtime.vault().close());
    const oauth = createOAuthRuntime({ overrides: config.providers.originOverrides, timeoutMs: 10_000 });

    const setupStarted = performance.now();
    const sweepOptions = { concurrency: CONCURRENCY, providerCaps: { zoom: CONCURRENCY }, timeBudgetMs: 10 * 60_000, drain: false };
    log(`warming up: ${WARM_UP_CONNECTIONS} connections seeded and swept first, so the emulator's JVM has compiled what the floor and the sweep run...`);
    await seedConnections(firestore, runtime.vault(), oauth, client, WARM_UP_CONNECTIONS, 'bench-warm-up');
    await standins.configure('zoom', { latencyMs: LATENCY_MS });
    const warmUp = await runRefreshSweep(runtime, sweepOptions);
    await standins.configure('zoom', { latencyMs: 0 });
    if (warmUp.refreshed !== WARM_UP_CONNECTIONS) throw new Error(`the warm-up sweep refreshed ${warmUp.refreshed} of ${WARM_UP_CONNECTIONS}`);
    log(`seeding ${CONNECTIONS} zoom connections (consent at the sandbox, sealed with the vault, batched writes)...`);
    const ids = await seedConnections(firestore, runtime.vault(), oauth, client, CONNECTIONS, 'bench');
    const setupMs = performance.now() - setupStarted;
    log(`seeded in ${(setupMs / 1000).toFixed(1)} s; sweeping with the sandbox answering in ${LATENCY_MS} ms, ${CONCURRENCY} in flight...`);

    const { perSecond: storageTransactionsPerSecond, cpuPerConnection: floorCpu } = await measureStorageFloor(firestore, watched, log);
    const ownWrites = await measureOwnWritesAlone(firestore, ids, CONCURRENCY, watched);
    const ownWritesAloneMs = ownWrites.ms;
    log(`the sweep's own writes alone: ${(ownWritesAloneMs / 1000).toFixed(2)} s (a grouped claim and a conditional commit with its audit entry per connection, ${CONCURRENCY} in flight)`);

    await standins.configure('zoom', { latencyMs: LATENCY_MS });
    await standins.resetCalls();
    const sweepStartedMs = Date.now();
    const storageCalls = countStorageCalls(firestore);
    const sweepCpu = processesCpu(watched);
    const started = performance.now();
    const report = await runRefreshSweep(runtime, sweepOptions);
    const wallMs = performance.now() - started;
    const sweepSpent = sweepCpu();
    const sweepCalls = storageCalls();
    const providerRefreshCalls = await standins.calls('zoom', 'refresh');
    const perRefresh = (count: number) => (report.refreshed === 0 ? 0 : count / report.refreshed);
    log('checking every stored refresh token at the sandbox...');
    await standins.configure('zoom', { latencyMs: 0 });
    const lostTokens = await countLostTokens(firestore, runtime.vault(), oauth, client, ids, sweepStartedMs);
    return {
      connections: CONNECTIONS,
      concurrency: CONCURRENCY,
      latencyMs: LATENCY_MS,
      wallMs,
      idealMs: (CONNECTIONS * LATENCY_MS) / CONCURRENCY,
      refreshesPerSecond: (report.refreshed / wallMs) * 1000,
      refreshed: report.refreshed,
      providerRefreshCalls,
      duplicateRefreshCalls: Math.max(0, providerRefreshCalls - report.refreshed - report.failed.total),
      lostTokens,
      failed: report.failed.total,
      remaining: report.remaining,
      setupMs,
      storageTransactionsPerSecond,
      storageFloorMs: ((CONNECTIONS * TRANSACTIONS_PER_REFRESH) / storageTransactionsPerSecond) * 1000,
      ownWritesAloneMs,
      cpuPerConnection: {
        floor: floorCpu,
        ownWritesAlone: perConnection(ownWrites.cpu, ids.length),
        sweep: perConnection(sweepSpent, report.refreshed),
        sweepBusyShare: sweepSpent === null ? null : (sweepSpent.benchMs + sweepSpent.standinsMs + sweepSpent.emulatorMs) / (wallMs * availableParallelism()),
        cores: availableParallelism(),
      },
      transactionsPerRefresh: perRefresh(sweepCalls.transactions),
      readsPerRefresh: perRefresh(sweepCalls.reads),
      commitsPerRefresh: perRefresh(sweepCalls.commits),
      groupedWritesPerRefresh: perRefresh(sweepCalls.groupedWrites),
      writeGroupsPerRefresh: perRefresh(sweepCalls.writeGroups),
    };
  } finally {
    for (const stop of stoppers) await stop().catch(() => undefined);
  }
}
