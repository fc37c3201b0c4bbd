// Token load: 1,000 token reads in flight at once, over HTTP with real ID tokens, against the local stack `npm start` runs.
//
// The stack is the one in local/local-stack.ts (emulator, KMS stand-in, provider sandbox, every function on one
// port). Connections are seeded through the sandbox's real authorization-code flow; a share of them is stored as
// expired, so the first reads of each must refresh — under the lease, once per connection — while the rest are warm.
// The benchmark runs in a child process of its own, as `npm start` does: a function module reads its configuration
// once per process, so a stack cannot share a process with another benchmark's functions.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Firestore } from '@google-cloud/firestore';
import { loadConfig } from '../shared/config/config.js';
import { createVault, type Vault } from '../shared/crypto/vault.js';
import { createFirestore } from '../shared/store/firestore-client.js';
import { systemClock } from '../shared/time/clock.js';
import { connectAtSandbox, FIXTURE_REDIRECT_URI, setStoredExpiry } from '../test/support/connection-fixtures.js';
import { createIdTokenSigner } from '../local/id-token-issuer.js';
import { type LocalStack, localIdentities, startLocalStack } from '../local/local-stack.js';
import { cpuWindow } from './http-load/run-http-load.js';

export interface TokenLoadPlan {
  /** Connections seeded, two providers per user. */
  readonly connections: number;
  /** Token reads fired together: every one is in flight before the first answer is read. */
  readonly reads: number;
  /** The share of connections stored as expired, whose first reads must refresh at the sandbox. */
  readonly refreshShare: number;
  /** Calling service instances; each signs one ID token and reuses it, as the client library caches it. */
  readonly callers: number;
}

export const defaultTokenLoadPlan: TokenLoadPlan = { connections: 200, reads: 1000, refreshShare: 0.2, callers: 25 };

/** A realistic mix: rotating and non-rotating refresh tokens, short and long lifetimes, one without expires_in. */
export const loadProviders = ['google', 'microsoft', 'slack', 'salesforce', 'hubspot', 'zoom', 'atlassian', 'dropbox'] as const;

export interface LoadConnection {
  readonly connectionId: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly provider: string;
  readonly accountId: string;
  /** What the sandbox issued at connect time; a warm read returns exactly this. */
  readonly initialAccessToken: string;
  readonly needsRefresh: boolean;
}

export interface TokenReadOutcome {
  readonly connection: LoadConnection;
  /** Whether the read named the account (a document get) or only the user (a query). */
  readonly byAccount: boolean;
  /** 0 when no HTTP answer came at all. */
  readonly status: number;
  readonly latencyMs: number;
  /** The parsed JSON answer, when there was one. */
  readonly body: unknown;
  /** null on 200; else the problem's code, `http_<status>`, or the socket error's code. */
  readonly errorCode: string | null;
}

export interface TokenLoadRun {
  readonly plan: TokenLoadPlan;
  readonly connections: readonly LoadConnection[];
  readonly outcomes: readonly TokenReadOutcome[];
  /** From the first request sent to the last answer read. */
  readonly wallMs: number;
  /** Refresh-grant calls the sandbox received during the reads, by provider. */
  readonly refreshCallsByProvider: Readonly<Record<string, number>>;
  /** CPU each process spent over the same window (null for an emulator this stack reused). */
  readonly cpu: BurstCpu;
}

/**
 * Milliseconds of CPU over one burst: the token function's process; this one (the front, the load generator, the KMS
 * stand-in and the provider sandbox); and the Firestore emulator's JVM (null when the stack reused one). Says which of
 * them a burst waits on.
 */
export type BurstCpu = Record<'tokenProcessMs' | 'thisProcessMs' | 'emulatorMs', number | null>;

function burstCpuWindow(stack: LocalStack): () => BurstCpu {
  const tokenPid = stack.description.functionProcesses.token?.pid;
  if (tokenPid === undefined) throw new TypeError('The local stack runs no token function process');
  return cpuWindow({ tokenProcessMs: tokenPid, thisProcessMs: process.pid, emulatorMs: stack.description.firestoreEmulatorPid });
}

const REQUEST_TIMEOUT_MS = 60_000;
const SEED_CONCURRENCY = 16;

async function inBatches<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Which connections are stored expired: spread evenly, `share` of them. */
function needsRefreshAt(index: number, share: number): boolean {
  return Math.floor((index + 1) * share) > Math.floor(index * share);
}

/**
 * Connects `plan.connections` sandbox accounts for the stack's demo tenant (two providers per user) and stores a share
 * of them as expired. The sandbox learns the fixtures' redirect URI beside the stack's callback, with the same client.
 */
export async function seedLoadConnections(stack: LocalStack, plan: TokenLoadPlan, store: { firestore: Firestore; vault: Vault }): Promise<LoadConnection[]> {
  const config = loadConfig(stack.functionEnv);
  for (const provider of loadProviders) {
    const client = config.providerClients[provider];
    if (client?.clientSecret === undefined) throw new TypeError(`The local stack configured no client for ${provider}`);
    stack.sandbox.registerClient(provider, {
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      redirectUris: [stack.description.callbackUrl, FIXTURE_REDIRECT_URI],
    });
  }
  const indexes = Array.from({ length: plan.connections }, (_, index) => index);
  return inBatches(indexes, SEED_CONCURRENCY, async (index) => {
    const provider = loadProviders[index % loadProviders.length] as string;
    const client = config.providerClients[provider] as { clientId: string; clientSecret: string };
    const tenantId = stack.description.demoTenant;
    const userId = `load-user-${Math.floor(index / 2)}`;
    const { connectionId, grant } = await connectAtSandbox({
      ...store,
      sandbox: stack.sandbox,
      client,
      provider,
      tenantId,
      userId,
      // Sandbox accounts are told apart by their first characters in some providers' ids: lead with the index.
      account: `a${index}x`,
    });
    const needsRefresh = needsRefreshAt(index, plan.refreshShare);
    if (needsRefresh) await setStoredExpiry(store.firestore, connectionId, Date.now() - 60_000);
    return { connectionId, tenantId, userId, provider, accountId: grant.providerAccountId, initialAccessToken: grant.accessToken, needsRefresh };
  });
}

interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

function post(agent: Agent, url: URL, headers: Record<string, string>, body: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: REQUEST_TIMEOUT_MS },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(Object.assign(new Error('no answer in time'), { code: 'timeout' })));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function errorCodeOf(status: number, body: unknown): string | null {
  if (status === 200) return null;
  const code = (body as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : `http_${status}`;
}

/**
 * Fires `plan.reads` token reads at once through one keep-alive agent with a socket for each (nothing queues in the
 * client), round-robin over the connections; alternate rounds name the account (a get) or only the user (a query).
 */
export async function fireTokenReads(stack: LocalStack, plan: TokenLoadPlan, connections: readonly LoadConnection[], stateDir: string): Promise<Omit<TokenLoadRun, 'plan' | 'connections'>> {
  const tokenUrl = stack.description.functions.token;
  if (tokenUrl === undefined) throw new TypeError('The local stack serves no token function');
  // Signed with the stack's own issuer key, exactly as `npm run local:id-token` would.
  const signer = await createIdTokenSigner({ dataDir: join(stateDir, 'id-token-issuer') });
  const callerTokens = await Promise.all(Array.from({ length: plan.callers }, () => signer.mint({ email: localIdentities.demoCaller, audience: tokenUrl })));
  const agent = new Agent({ keepAlive: true, maxSockets: plan.reads, maxTotalSockets: plan.reads });
  const url = new URL(tokenUrl);
  stack.sandbox.resetCalls();
  try {
    const reads = Array.from({ length: plan.reads }, (_, index) => {
      const connection = connections[index % connections.length] as LoadConnection;
      const byAccount = Math.floor(index / connections.length) % 2 === 0;
      const body = JSON.stringify({
        tenantId: connection.tenantId,
        userId: connection.userId,
        provider: connection.provider,
        ...(byAccount ? { accountId: connection.accountId } : {}),
      });
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${callerTokens[index % callerTokens.length]}` };
      return { connection, byAccount, body, headers };
    });
    const cpuSpent = burstCpuWindow(stack);
    const begin = performance.now();
    const outcomes = await Promise.all(
      reads.map(async ({ connection, byAccount, body, headers }): Promise<TokenReadOutcome> => {
        const started = performance.now();
        try {
          const answer = await post(agent, url, headers, body);
          const latencyMs = performance.now() - started;
          let parsed: unknown;
          try {
            parsed = JSON.parse(answer.text);
          } catch {
            parsed = undefined;
          }
          return { connection, byAccount, status: answer.status, latencyMs, body: parsed, errorCode: errorCodeOf(answer.status, parsed) };
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          return { connection, byAccount, status: 0, latencyMs: performance.now() - started, body: undefined, errorCode: typeof code === 'string' ? code : 'transport' };
        }
      }),
    );
    const wallMs = performance.now() - begin;
    const cpu = cpuSpent();
    const refreshCallsByProvider: Record<string, number> = {};
    for (const [key, count] of Object.entries(stack.sandbox.callCounts())) {
      const [provider, endpoint] = key.split('.');
      if (endpoint === 'refresh' && provider !== undefined) refreshCallsByProvider[provider] = count;
    }
    return { outcomes, wallMs, refreshCallsByProvider, cpu };
  } finally {
    agent.destroy();
  }
}

/** Seeds and fires against a running stack; `store` must be on the stack's project (loadConfig(stack.functionEnv)). */
export async function runTokenLoad(
  stack: LocalStack,
  plan: TokenLoadPlan,
  options: { stateDir: string; store: { firestore: Firestore; vault: Vault }; log?: (line: string) => void },
): Promise<TokenLoadRun> {
  const log = options.log ?? (() => undefined);
  const seedStart = performance.now();
  const connections = await seedLoadConnections(stack, plan, options.store);
  const stale = connections.filter((connection) => connection.needsRefresh).length;
  log(`seeded ${connections.length} connections (${loadProviders.length} providers, ${connections.length - stale} warm, ${stale} expired) in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
  log(`firing ${plan.reads} token reads at once from ${plan.callers} callers...`);
  const fired = await fireTokenReads(stack, plan, connections, options.stateDir);
  return { plan, connections, ...fired };
}

export interface TokenLoadReport {
  readonly reads: number;
  readonly inFlight: number;
  readonly connections: number;
  readonly connectionsNeedingRefresh: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly readsPerSecond: number;
  readonly wallMs: number;
  readonly errors: number;
  readonly errorsByCode: Readonly<Record<string, number>>;
  /** Refresh-grant calls the sandbox saw, in all. */
  readonly providerRefreshCalls: number;
  /** Refresh calls beyond one per expired connection; 0 is the target. */
  readonly duplicateRefreshCalls: number;
  /** Connections whose reads did not all return one and the same access token. */
  readonly inconsistentConnections: number;
  readonly cpu: BurstCpu;
  readonly table: string;
}

/** The same reads fired again at the same processes: what the cold burst becomes once the instance is warm. */
export interface RepeatedBurst {
  readonly round: number;
  readonly readsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly wallMs: number;
  readonly errors: number;
  readonly cpu: BurstCpu;
}

/** Rounds fired after the cold one by `npm run bench`, on the connections the cold round read (all fresh by then). */
export const REPEATED_ROUNDS = 3;

function summarizeRepeat(round: number, fired: Omit<TokenLoadRun, 'plan' | 'connections'>): RepeatedBurst {
  const latencies = fired.outcomes.map((outcome) => outcome.latencyMs).sort((a, b) => a - b);
  return {
    round,
    readsPerSecond: (fired.outcomes.length / fired.wallMs) * 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    wallMs: fired.wallMs,
    errors: fired.outcomes.filter((outcome) => outcome.errorCode !== null).length,
    cpu: fired.cpu,
  };
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] as number;
}

export function summarizeTokenLoad(run: TokenLoadRun): TokenLoadReport {
  const latencies = run.outcomes.map((outcome) => outcome.latencyMs).sort((a, b) => a - b);
  const errorsByCode: Record<string, number> = {};
  for (const outcome of run.outcomes) {
    if (outcome.errorCode !== null) errorsByCode[outcome.errorCode] = (errorsByCode[outcome.errorCode] ?? 0) + 1;
  }
  const errors = Object.values(errorsByCode).reduce((sum, count) => sum + count, 0);
  const tokensByConnection = new Map<string, Set<string>>();
  for (const outcome of run.outcomes) {
    const token = (outcome.body as { accessToken?: unknown } | undefined)?.accessToken;
    if (outcome.status !== 200 || typeof token !== 'string') continue;
    const seen = tokensByConnection.get(outcome.connection.connectionId) ?? new Set<string>();
    seen.add(token);
    tokensByConnection.set(outcome.connection.connectionId, seen);
  }
  const inconsistentConnections = [...tokensByConnection.values()].filter((tokens) => tokens.size > 1).length;
  const stale = run.connections.filter((connection) => connection.needsRefresh).length;
  const providerRefreshCalls = Object.values(run.refreshCallsByProvider).reduce((sum, count) => sum + count, 0);
  const report = {
    reads: run.outcomes.length,
    inFlight: run.plan.reads,
    connections: run.connections.length,
    connectionsNeedingRefresh: stale,
    p50Ms: percentile(latencies, 0.5),
    p90Ms: percentile(latencies, 0.9),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    readsPerSecond: (run.outcomes.length / run.wallMs) * 1000,
    wallMs: run.wallMs,
    errors,
    errorsByCode,
    providerRefreshCalls,
    duplicateRefreshCalls: Math.max(0, providerRefreshCalls - stale),
    inconsistentConnections,
    cpu: run.cpu,
  };
  // The same figures for the warm reads and for the reads of expired connections (which wait for their refresh).
  const header = ['reads', 'count', 'in flight', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'reads/s', 'errors'];
  const rowFor = (label: string, outcomes: readonly TokenReadOutcome[], perSecond: string): string[] => {
    const sorted = outcomes.map((outcome) => outcome.latencyMs).sort((a, b) => a - b);
    return [
      label,
      String(outcomes.length),
      String(run.plan.reads),
      percentile(sorted, 0.5).toFixed(1),
      percentile(sorted, 0.9).toFixed(1),
      percentile(sorted, 0.99).toFixed(1),
      (sorted.at(-1) ?? Number.NaN).toFixed(1),
      perSecond,
      String(outcomes.filter((outcome) => outcome.errorCode !== null).length),
    ];
  };
  const rows = [
    rowFor('all', run.outcomes, report.readsPerSecond.toFixed(0)),
    rowFor('warm', run.outcomes.filter((outcome) => !outcome.connection.needsRefresh), '-'),
    rowFor('expired (refresh)', run.outcomes.filter((outcome) => outcome.connection.needsRefresh), '-'),
  ];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
  const render = (row: readonly string[]) => row.map((cell, column) => cell.padEnd(widths[column] as number)).join('  ');
  const byCode = Object.entries(errorsByCode).sort(([a], [b]) => a.localeCompare(b)).map(([code, count]) => `${code} ${count}`);
  const byProvider = Object.entries(run.refreshCallsByProvider).sort(([a], [b]) => a.localeCompare(b)).map(([provider, count]) => `${provider} ${count}`);
  const table = [
    render(header),
    render(widths.map((width) => '-'.repeat(width))),
    ...rows.map(render),
    '',
    `connections:            ${report.connections} (${loadProviders.length} providers, ${report.connections / 2} users), ${stale} stored expired`,
    `wall time:              ${(report.wallMs / 1000).toFixed(2)} s from the first request sent to the last answer read`,
    `errors by code:         ${byCode.length === 0 ? 'none' : byCode.join(', ')}`,
    `sandbox refresh calls:  ${providerRefreshCalls} for ${stale} expired connections${byProvider.length === 0 ? '' : ` (${byProvider.join(', ')})`}; ${report.duplicateRefreshCalls} duplicate`,
    `connections answered with more than one token: ${inconsistentConnections}`,
  ].join('\n');
  return { ...report, table };
}

/** An emulator named by FIRESTORE_EMULATOR_HOST outlives the run: it keeps none of the run's connections. */
async function clearProject(emulatorHost: string, projectId: string): Promise<void> {
  const url = `http://${emulatorHost}/emulator/v1/projects/${encodeURIComponent(projectId)}/databases/(default)/documents`;
  const response = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`Clearing ${projectId} on the Firestore emulator failed: HTTP ${response.status}`);
}

/** In the child process: the whole stack, seeded, loaded, measured and stopped. */
async function runInThisProcess(plan: TokenLoadPlan, log: (line: string) => void): Promise<BenchReport> {
  // Nothing in this process may probe a real metadata server.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const stateDir = await mkdtemp(join(tmpdir(), 'broker-token-load-'));
  const repoRoot = fileURLToPath(new URL('../', import.meta.url));
  let stack: LocalStack | undefined;
  let firestore: Firestore | undefined;
  let vault: Vault | undefined;
  try {
    stack = await startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      // Its own project, so an emulator named by FIRESTORE_EMULATOR_HOST keeps a developer's data apart.
      projectId: `bench-load-${randomBytes(4).toString('hex')}`,
      // As `npm start` does: the emulators named in the environment are reused, else started (Java found on PATH).
      env: {
        ...process.env,
        // Audit lines would measure the terminal; the scheduled sweeps would refresh what the reads must refresh.
        LOG_LEVEL: 'WARNING',
        SWEEP_INTERVAL_SECONDS: '86400',
      },
      onProgress: (line) => log(`  ${line}`),
    });
    const config = loadConfig(stack.functionEnv);
    firestore = createFirestore(config);
    vault = createVault(config, { clock: systemClock });
    const run = await runTokenLoad(stack, plan, { stateDir, store: { firestore, vault }, log });
    const cold = summarizeTokenLoad(run);
    const repeated: RepeatedBurst[] = [];
    for (let round = 2; round <= REPEATED_ROUNDS + 1; round += 1) {
      log(`firing the same ${plan.reads} reads again (round ${round}), at the same, now warmer, token process...`);
      repeated.push(summarizeRepeat(round, await fireTokenReads(stack, plan, run.connections, stateDir)));
    }
    return { ...cold, repeated };
  } finally {
    await vault?.close().catch(() => undefined);
    await firestore?.terminate().catch(() => undefined);
    if (stack) await clearProject(stack.description.firestoreEmulatorHost, stack.description.projectId).catch(() => undefined);
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

const CHILD_FLAG = '--token-load-child';

type BenchReport = TokenLoadReport & { readonly repeated: readonly RepeatedBurst[] };

type ChildMessage = { readonly kind: 'log'; readonly line: string } | { readonly kind: 'report'; readonly report: BenchReport } | { readonly kind: 'failed'; readonly message: string };

/** `npm run bench` entry: runs the load in a child process and prints its progress through `log`. */
export function runTokenLoadBenchmark(log: (line: string) => void, plan: TokenLoadPlan = defaultTokenLoadPlan): Promise<BenchReport> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG, JSON.stringify(plan)], {
      // Resolved from here, not from the working directory, so the bench runs from anywhere.
      execArgv: ['--import', import.meta.resolve('tsx')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    child.on('message', (message: ChildMessage) => {
      if (message.kind === 'log') log(message.line);
      else if (message.kind === 'report') {
        settled = true;
        resolve(message.report);
      } else {
        settled = true;
        reject(new Error(`The token load benchmark failed: ${message.message}`));
      }
    });
    child.on('error', (error) => {
      if (!settled) reject(error);
      settled = true;
    });
    child.on('exit', (code, signal) => {
      if (!settled) reject(new Error(`The token load benchmark's process ended (${signal ?? `exit code ${code}`}) without a report`));
      settled = true;
    });
  });
}

if (process.argv[2] === CHILD_FLAG && process.send) {
  const send = (message: ChildMessage) => new Promise<void>((resolve) => process.send?.(message, () => resolve()));
  const plan = { ...defaultTokenLoadPlan, ...(JSON.parse(process.argv[3] ?? '{}') as Partial<TokenLoadPlan>) };
  try {
    const report = await runInThisProcess(plan, (line) => void send({ kind: 'log', line }));
    await send({ kind: 'report', report });
  } catch (error) {
    await send({ kind: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
  // gRPC and the functions framework keep handles open; the run is over.
  process.exit(0);
}
