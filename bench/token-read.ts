// Token-read benchmark: the token function in its own process (the local stack, as `npm start` runs it), read over
// HTTP by a load generator in a process of its own, beside two floors measured in the same run: a bare Firestore
// get() of a connection document, and a bare Node `http` server answering a fixed body (the physical floor).
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Firestore } from '@google-cloud/firestore';
import { createIdTokenSigner } from '../local/id-token-issuer.js';
import { type LocalStack, localIdentities, startLocalStack } from '../local/local-stack.js';
import { loadConfig } from '../shared/config/config.js';
import { createVault, type Vault } from '../shared/crypto/vault.js';
import { connectionRef } from '../shared/store/connection-reads.js';
import { createFirestore } from '../shared/store/firestore-client.js';
import { systemClock } from '../shared/time/clock.js';
import { type CpuBreakdownRow, cpuBreakdown } from './http-load/cpu-profile-breakdown.js';
import type { HttpLoadPlan } from './http-load/http-load-plan.js';
import { type HttpLoadRun, runHttpLoad } from './http-load/run-http-load.js';
import { startGrpcCallCounter, type GrpcCallCounter } from './http-load/grpc-call-counter.js';
import { measure } from './measure.js';
import { type CoherenceReport, type CoherenceTarget, runRevocationCoherence } from './token-coherence.js';
import { findFreePort } from '../local/free-port.js';
import { type FunctionProcess, startFunctionProcess } from '../local/function-process.js';
import { writeConnection } from '../test/support/connection-fixtures.js';
import { seedLoadConnections } from './token-load.js';

export const IN_FLIGHT_LEVELS = [1, 16, 64] as const;
/** Rows measured through the stack's front (the function and the front's process both counted for CPU). */
export const FRONT_LABEL = 'token function through the front';
const WARMUP_MS = 2_000;
const DURATION_MS = 8_000;
const CONNECTIONS = 64;
const COHERENCE_CONNECTIONS = 1000;
/** 16 and 1,000 in flight through the front alternate this many times, so the two are compared over the same spells. */
const FRONT_ROUNDS = 3;

/** Connections written straight to Firestore (sealed as the broker seals them), to be revoked in this order. */
async function seedRevocationTargets(stack: LocalStack, firestore: Firestore, vault: Vault): Promise<CoherenceTarget[]> {
  const tenantId = stack.description.demoTenant;
  const targets: CoherenceTarget[] = [];
  for (let index = 0; index < COHERENCE_CONNECTIONS; index += 1) {
    const userId = `revoked-user-${index}`;
    const connectionId = await writeConnection(firestore, vault, {
      tenantId,
      userId,
      provider: 'zoom',
      providerAccountId: `revoked-account-${index}`,
      credentials: { accessToken: `coherence-access-${index}` },
      expiresAtMs: Date.now() + 3_600_000,
    });
    // Half the reads name the account (a document), half only the user (a query): both kinds of cached lookup.
    const body = JSON.stringify({ tenantId, userId, provider: 'zoom', ...(index % 2 === 0 ? { accountId: `revoked-account-${index}` } : {}) });
    targets.push({ connectionId, body });
  }
  return targets;
}

export interface TokenReadRow {
  readonly label: string;
  readonly inFlight: number;
  readonly operations: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Server CPU per answered request (ms); null where the floor runs in the bench process itself. */
  readonly cpuMsPerRequest: number | null;
  /** The load generator's own CPU per answered request (ms): it shares the box; null where there is none. */
  readonly generatorCpuMsPerRequest: number | null;
  readonly errors: number;
}

export interface TokenReadReport {
  readonly rows: readonly TokenReadRow[];
  readonly kmsCallsPerWarmRead: number;
  /** Firestore calls by method per warm read, counted between a second token process and the emulator. */
  readonly firestoreCallsPerWarmRead: Readonly<Record<string, number>>;
  /** Firestore document reads (BatchGetDocuments + RunQuery) per warm read. */
  readonly firestoreReadsPerWarmRead: number;
  /** Both through the stack's front, which queues beyond the function's concurrency as Cloud Run does: a row a round. */
  readonly frontSixteenInFlight: readonly TokenReadRow[];
  readonly thousandInFlight: readonly TokenReadRow[];
  readonly coherence: CoherenceReport;
  /** Where a token process's CPU went at 16 in flight, by layer, from a V8 CPU profile of it. */
  readonly cpuBreakdown: readonly (CpuBreakdownRow & { readonly cpuMsPerRead: number })[];
  readonly table: string;
}

function fromLoad(label: string, inFlight: number, run: HttpLoadRun): TokenReadRow {
  const errors = Object.entries(run.statuses).reduce((sum, [status, count]) => sum + (status === '200' ? 0 : count), 0);
  return { label, inFlight, operations: run.operations, perSecond: run.perSecond, p50Ms: run.p50Ms, p99Ms: run.p99Ms, cpuMsPerRequest: run.serverCpuMsPerRequest, generatorCpuMsPerRequest: run.generatorCpuMsPerRequest, errors };
}

async function startFixedBodyServer(): Promise<{ url: string; pid: number; stop: () => void }> {
  const child = fork(fileURLToPath(new URL('./http-load/fixed-body-server.ts', import.meta.url)), [], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  for await (const line of lines) {
    const { port } = JSON.parse(line) as { port: number };
    return { url: `http://127.0.0.1:${port}/`, pid: child.pid as number, stop: () => child.kill() };
  }
  throw new Error('The fixed-body server ended before it listened');
}

export function formatTokenReadTable(rows: readonly TokenReadRow[]): string {
  const header = ['path', 'in flight', 'ops', 'reads/s', 'p50 ms', 'p99 ms', 'server CPU ms/read', 'generator CPU ms/read', 'errors'];
  const lines = rows.map((row) => [
    row.label,
    String(row.inFlight),
    String(row.operations),
    row.perSecond.toFixed(0),
    row.p50Ms.toFixed(2),
    row.p99Ms.toFixed(2),
    row.cpuMsPerRequest === null ? '-' : row.cpuMsPerRequest.toFixed(3),
    row.generatorCpuMsPerRequest === null ? '-' : row.generatorCpuMsPerRequest.toFixed(3),
    String(row.errors),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] as string).length)));
  const render = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] as number)).join('  ');
  return [render(header), render(widths.map((width) => '-'.repeat(width))), ...lines.map(render)].join('\n');
}

export async function runTokenReadBenchmark(log: (line: string) => void): Promise<TokenReadReport> {
  // Nothing in this process may probe a real metadata server.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const stateDir = await mkdtemp(join(tmpdir(), 'broker-token-read-'));
  const repoRoot = fileURLToPath(new URL('../', import.meta.url));
  let stack: LocalStack | undefined;
  let firestore: Firestore | undefined;
  let vault: Vault | undefined;
  let floorServer: Awaited<ReturnType<typeof startFixedBodyServer>> | undefined;
  let counter: GrpcCallCounter | undefined;
  let secondToken: FunctionProcess | undefined;
  let thirdToken: FunctionProcess | undefined;
  try {
    stack = await startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      projectId: `bench-read-${randomBytes(4).toString('hex')}`,
      env: { ...process.env, LOG_LEVEL: 'WARNING', SWEEP_INTERVAL_SECONDS: '86400' },
      onProgress: (line) => log(`  ${line}`),
      ...(process.env.BENCH_PROFILE_DIR ? { functionNodeOptions: { token: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] } } : {}),
    });
    const config = loadConfig(stack.functionEnv);
    firestore = createFirestore(config);
    vault = createVault(config, { clock: systemClock });
    const connections = await seedLoadConnections(stack, { connections: CONNECTIONS, reads: 0, refreshShare: 0, callers: 1 }, { firestore, vault });
    // Seeded before any token process reads, so they are not in any cache listener's result set (changes since its
    // start): on the emulator every commit a listener matches costs in proportion to that set.
    const targets = await seedRevocationTargets(stack, firestore, vault).catch((error: unknown) => {
      throw new Error('Seeding the connections to revoke failed', { cause: error });
    });
    const token = stack.description.functionProcesses.token;
    const tokenAudience = stack.description.functions.token;
    if (token === undefined || tokenAudience === undefined) throw new TypeError('The local stack serves no token function');
    const signer = await createIdTokenSigner({ dataDir: join(stateDir, 'id-token-issuer') });
    const idToken = await signer.mint({ email: localIdentities.demoCaller, audience: tokenAudience });
    const calls: HttpLoadPlan['calls'] = connections.map((connection) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${idToken}` },
      body: JSON.stringify({ tenantId: connection.tenantId, userId: connection.userId, provider: connection.provider, accountId: connection.accountId }),
    }));
    floorServer = await startFixedBodyServer();
    const refs = connections.map((connection) => connectionRef(firestore as Firestore, connection.connectionId));
    let nextRef = 0;
    const rows: TokenReadRow[] = [];
    for (const inFlight of IN_FLIGHT_LEVELS) {
      log(`measuring at ${inFlight} in flight...`);
      const plan = { inFlight, warmupMs: WARMUP_MS, durationMs: DURATION_MS };
      rows.push(fromLoad('bare http server, fixed body (floor)', inFlight, await runHttpLoad({ ...plan, url: floorServer.url, calls: [{ method: 'POST', headers: {}, body: '{}' }] }, [floorServer.pid])));
      const get = await measure('firestore get()', () => (refs[nextRef++ % refs.length] as ReturnType<typeof connectionRef>).get(), inFlight, inFlight * 400);
      rows.push({ label: 'firestore get() (floor, in the bench process)', inFlight, operations: get.operations, perSecond: get.perSecond, p50Ms: get.p50Ms, p99Ms: get.p99Ms, cpuMsPerRequest: null, generatorCpuMsPerRequest: null, errors: 0 });
      stack.kms.resetCounters();
      const tokenRun = await runHttpLoad({ ...plan, url: `${token.origin}/`, calls }, [token.pid]);
      rows.push(fromLoad('token function over HTTP', inFlight, tokenRun));
    }
    const kmsCalls = Object.values(stack.kms.calls).reduce((sum, count) => sum + count, 0);
    const lastTokenRow = rows.at(-1) as TokenReadRow;

    // Many callers at once go through the stack's front, which holds what is beyond the function's concurrency as
    // Cloud Run's front end does; the front runs in this process, so its CPU is counted with the function's.
    log(`16, then 1,000 in flight through the stack's front, ${FRONT_ROUNDS} times...`);
    const frontPlan = { url: tokenAudience, calls, warmupMs: WARMUP_MS, durationMs: DURATION_MS };
    const frontSixteen: TokenReadRow[] = [];
    const thousand: TokenReadRow[] = [];
    for (let round = 0; round < FRONT_ROUNDS; round += 1) {
      frontSixteen.push(fromLoad(FRONT_LABEL, 16, await runHttpLoad({ ...frontPlan, inFlight: 16 }, [token.pid, process.pid])));
      thousand.push(fromLoad(FRONT_LABEL, 1000, await runHttpLoad({ ...frontPlan, inFlight: 1000 }, [token.pid, process.pid])));
    }

    // A second token process whose Firestore traffic passes a counter: what a warm read asks of Firestore.
    counter = await startGrpcCallCounter(stack.description.firestoreEmulatorHost);
    const extraTokenEnv = stack.functionEnvironments.token;
    secondToken = await startFunctionProcess({
      repoRoot,
      name: 'token',
      port: await findFreePort(),
      env: { ...extraTokenEnv, FIRESTORE_EMULATOR_HOST: counter.host },
      serviceName: 'token-second',
    });
    thirdToken = await startFunctionProcess({ repoRoot, name: 'token', port: await findFreePort(), env: extraTokenEnv, serviceName: 'token-third' });
    log('counting Firestore calls per warm read at a second token process...');
    await runHttpLoad({ url: `${secondToken.origin}/`, calls, inFlight: 16, warmupMs: 0, durationMs: 3_000 }, [secondToken.pid]);
    counter.reset();
    const counted = await runHttpLoad({ url: `${secondToken.origin}/`, calls, inFlight: 16, warmupMs: 0, durationMs: 5_000 }, [secondToken.pid]);
    const perRead = Object.fromEntries(Object.entries(counter.counts()).map(([method, count]) => [method, count / Math.max(1, counted.operations)]));
    const firestoreReadsPerWarmRead = (perRead.BatchGetDocuments ?? 0) + (perRead.RunQuery ?? 0);

    log('profiling a token process at 16 in flight...');
    const profileDir = join(stateDir, 'cpu-profile');
    const profiled = await startFunctionProcess({
      repoRoot,
      name: 'token',
      port: await findFreePort(),
      env: stack.functionEnvironments.token,
      serviceName: 'token-profiled',
      nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    });
    const profiledRun = await runHttpLoad({ url: `${profiled.origin}/`, calls, inFlight: 16, warmupMs: WARMUP_MS, durationMs: 5_000 }, [profiled.pid]);
    // The framework exits on SIGTERM through process.exit, which is when V8 writes the profile.
    await profiled.stop();
    const [profileFile] = await readdir(profileDir);
    const breakdown = profileFile === undefined ? [] : await cpuBreakdown(join(profileDir, profileFile), profiledRun.windowUs.from, profiledRun.windowUs.to);
    const cpuBreakdownPerRead = breakdown.map((row) => ({ ...row, cpuMsPerRead: row.cpuMs / Math.max(1, profiledRun.operations) }));

    log(`revoking ${COHERENCE_CONNECTIONS} connections while 16 readers read them through two token processes...`);
    const coherence = await runRevocationCoherence(firestore, {
      origins: [secondToken.origin, thirdToken.origin],
      idToken,
      targets,
      readers: 16,
      revocationGapMs: 20,
      window: 4,
    });
    return {
      rows,
      kmsCallsPerWarmRead: kmsCalls / Math.max(1, lastTokenRow.operations),
      firestoreCallsPerWarmRead: perRead,
      firestoreReadsPerWarmRead,
      frontSixteenInFlight: frontSixteen,
      thousandInFlight: thousand,
      coherence,
      cpuBreakdown: cpuBreakdownPerRead,
      table: formatTokenReadTable([...rows, ...frontSixteen.flatMap((sixteen, round) => [sixteen, thousand[round] as TokenReadRow])]),
    };
  } finally {
    await secondToken?.stop();
    await thirdToken?.stop();
    await counter?.stop();
    floorServer?.stop();
    await vault?.close().catch(() => undefined);
    await firestore?.terminate().catch(() => undefined);
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}
