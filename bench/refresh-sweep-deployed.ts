// Refresh-sweep benchmark in the deployed shape: the same 2,000 connections swept by the refresh function in its own
// process (dist/, the Functions Framework, the local stack as `npm start` runs it), called as Cloud Scheduler calls it,
// with the sweep settings given to it as configuration. Its data-key cache is as cold as production's: it opens
// credentials another process sealed, one KMS Decrypt each. Read beside the storage floor measured in the same run.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createIdTokenSigner } from '../local/id-token-issuer.js';
import { type LocalStack, localIdentities, startLocalStack } from '../local/local-stack.js';
import { loadConfig } from '../shared/config/config.js';
import { createVault } from '../shared/crypto/vault.js';
import { createOAuthRuntime } from '../shared/oauth/oauth-runtime.js';
import { createFirestore } from '../shared/store/firestore-client.js';
import { systemClock } from '../shared/time/clock.js';
import { FIXTURE_REDIRECT_URI } from '../test/support/connection-fixtures.js';
import { cpuWindow } from './http-load/run-http-load.js';
import {
  CONCURRENCY,
  CONNECTIONS,
  countLostTokens,
  LATENCY_MS,
  measureStorageFloor,
  seedConnections,
  TRANSACTIONS_PER_REFRESH,
  WARM_UP_CONNECTIONS,
} from './refresh-sweep.js';

export interface DeployedSweepReport {
  readonly connections: number;
  readonly concurrency: number;
  /** From the scheduler's request sent to the function's answer read. */
  readonly wallMs: number;
  /** The sweep's own duration, as its report gives it (the part after authenticating the caller). */
  readonly sweepMs: number;
  readonly storageTransactionsPerSecond: number;
  readonly storageFloorMs: number;
  readonly refreshed: number;
  readonly failed: number;
  readonly duplicateRefreshCalls: number;
  readonly lostTokens: number;
  /** CPU per refreshed connection in ms; null for a process whose CPU could not be read. */
  readonly cpuPerConnection: { readonly refreshFunction: number | null; readonly stack: number | null; readonly emulator: number | null };
}

const sweepReportSchema = z.object({ refreshed: z.number(), failed: z.object({ total: z.number() }).loose(), durationMs: z.number() }).loose();

/** One scheduler call of the refresh function, with the CPU its process, this one and the emulator spent meanwhile. */
async function callRefreshFunction(stack: LocalStack, mintIdToken: (audience: string) => Promise<string>) {
  const url = stack.description.functions.refresh;
  const pid = stack.description.functionProcesses.refresh?.pid;
  if (url === undefined || pid === undefined) throw new TypeError('The local stack serves no refresh function');
  const idToken = await mintIdToken(url);
  const cpu = cpuWindow({ refreshFunction: pid, stack: process.pid, emulator: stack.description.firestoreEmulatorPid });
  const began = performance.now();
  const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${idToken}` }, body: '{}' });
  const body: unknown = await answer.json();
  const wallMs = performance.now() - began;
  if (!answer.ok) throw new Error(`the refresh function answered HTTP ${answer.status}`);
  return { wallMs, report: sweepReportSchema.parse(body), cpu: cpu() };
}

export async function runDeployedRefreshSweepBenchmark(log: (line: string) => void): Promise<DeployedSweepReport> {
  const repoRoot = fileURLToPath(new URL('..', import.meta.url));
  const stateDir = await mkdtemp(join(tmpdir(), 'bench-sweep-deployed-'));
  const slots = String(CONCURRENCY);
  const stack = await startLocalStack({
    repoRoot,
    port: 0,
    stateDir,
    projectId: `bench-sweep-${randomBytes(4).toString('hex')}`,
    // The bench's sweep settings, as configuration; the timer never fires: the bench calls the function itself.
    env: {
      ...process.env,
      LOG_LEVEL: 'ERROR',
      SWEEP_INTERVAL_SECONDS: '86400',
      SWEEP_CONCURRENCY: slots,
      SWEEP_PROVIDER_CAPS: JSON.stringify({ zoom: CONCURRENCY }),
      SWEEP_TIME_BUDGET_SECONDS: '600',
    },
    onProgress: (line) => log(`  ${line}`),
    // As token-read: BENCH_PROFILE_DIR gets the refresh function's V8 CPU profile, written when the stack stops it.
    ...(process.env.BENCH_PROFILE_DIR ? { functionNodeOptions: { refresh: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] } } : {}),
  });
  const config = loadConfig(stack.functionEnv);
  const firestore = createFirestore(config);
  const vault = createVault(config, { clock: systemClock });
  try {
    const client = config.providerClients.zoom;
    if (client?.clientSecret === undefined) throw new TypeError('The local stack configured no client for zoom');
    const zoom = { clientId: client.clientId, clientSecret: client.clientSecret };
    stack.sandbox.registerClient('zoom', { ...zoom, redirectUris: [stack.description.callbackUrl, FIXTURE_REDIRECT_URI] });
    const oauth = createOAuthRuntime({ overrides: new Map(Object.entries(stack.sandbox.originOverrides)), timeoutMs: 10_000 });
    const signer = await createIdTokenSigner({ dataDir: join(stateDir, 'id-token-issuer') });
    const mintIdToken = (audience: string) => signer.mint({ email: localIdentities.schedulerCaller, audience });

    log(`warming up: ${WARM_UP_CONNECTIONS} connections seeded and swept by the refresh function first...`);
    await seedConnections(firestore, vault, oauth, zoom, WARM_UP_CONNECTIONS, 'bench-warm-up');
    stack.sandbox.configure('zoom', { latencyMs: LATENCY_MS });
    const warmUp = await callRefreshFunction(stack, mintIdToken);
    stack.sandbox.configure('zoom', { latencyMs: 0 });
    if (warmUp.report.refreshed !== WARM_UP_CONNECTIONS) throw new Error(`the warm-up sweep refreshed ${warmUp.report.refreshed} of ${WARM_UP_CONNECTIONS}`);
    log(`seeding ${CONNECTIONS} zoom connections...`);
    const ids = await seedConnections(firestore, vault, oauth, zoom, CONNECTIONS, 'bench');
    // The stand-ins run in this process here, as npm start runs them: the floor's CPU split is not read.
    const floor = await measureStorageFloor(firestore, { emulator: stack.description.firestoreEmulatorPid, standins: process.pid }, log);

    stack.sandbox.configure('zoom', { latencyMs: LATENCY_MS });
    stack.sandbox.resetCalls();
    const sweepStartedMs = Date.now();
    log(`calling the refresh function as the scheduler, the sandbox answering in ${LATENCY_MS} ms, ${CONCURRENCY} in flight...`);
    const { wallMs, report, cpu } = await callRefreshFunction(stack, mintIdToken);
    const providerRefreshCalls = stack.sandbox.calls('zoom', 'refresh');
    stack.sandbox.configure('zoom', { latencyMs: 0 });
    log('checking every stored refresh token at the sandbox...');
    const lostTokens = await countLostTokens(firestore, vault, oauth, zoom, ids, sweepStartedMs);
    const perConnection = (ms: number | null) => (ms === null || report.refreshed === 0 ? null : ms / report.refreshed);
    return {
      connections: CONNECTIONS,
      concurrency: CONCURRENCY,
      wallMs,
      sweepMs: report.durationMs,
      storageTransactionsPerSecond: floor.perSecond,
      storageFloorMs: ((CONNECTIONS * TRANSACTIONS_PER_REFRESH) / floor.perSecond) * 1000,
      refreshed: report.refreshed,
      failed: report.failed.total,
      duplicateRefreshCalls: Math.max(0, providerRefreshCalls - report.refreshed - report.failed.total),
      lostTokens,
      cpuPerConnection: { refreshFunction: perConnection(cpu.refreshFunction), stack: perConnection(cpu.stack), emulator: perConnection(cpu.emulator) },
    };
  } finally {
    await firestore.terminate().catch(() => undefined);
    await vault.close().catch(() => undefined);
    await stack.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}
