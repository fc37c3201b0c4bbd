// `npm run bench`: runs the project's benchmarks in one process and prints their tables and targets.
// `npm run bench -- token-read` or `npm run bench -- refresh-sweep` runs one of them.
import { runRefreshSweepBenchmark } from './refresh-sweep.js';
import { runTokenReadBenchmark } from './token-read.js';
import { runColdStartBenchmark } from './cold-start.js';
import { fuzzVerdict, runFuzzBenchmark } from './fuzz.js';

const log = (line: string) => process.stdout.write(`${line}\n`);
const benchmarks = ['token-read', 'refresh-sweep'] as const;
const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !(benchmarks as readonly string[]).includes(name));
if (unknown.length > 0) throw new TypeError(`Unknown benchmark ${unknown.join(', ')}; choose from ${benchmarks.join(', ')}`);
const runs = (name: (typeof benchmarks)[number]) => chosen.length === 0 || chosen.includes(name);

if (runs('token-read')) await tokenReadSection();
if (runs('refresh-sweep')) await refreshSweepSection();
log('');
const coldStart = await runColdStartBenchmark(log);
log(`Cold start — ${coldStart.how}; googleapis is not installed, so the eager row imports the per-API Gmail client instead`);
log(coldStart.table);
if (coldStart.skipped.length > 0) log(`skipped (no module yet): ${coldStart.skipped.join(', ')}`);
log('');
const fuzz = await runFuzzBenchmark(log);
log('');
log('Fuzzing — generated requests per function over HTTP (Firestore emulator, KMS stand-in, provider sandbox)');
log(fuzz.table);
for (const line of fuzzVerdict(fuzz.report)) log(line);
// gRPC and the functions framework keep handles open; the benchmark is done.
process.exit(0);

async function tokenReadSection(): Promise<void> {
  const tokenRead = await runTokenReadBenchmark(log);
  log('');
  log('Token read (warm: token valid, data key cached) — Firestore emulator, KMS stand-in, provider sandbox, this machine');
  log(tokenRead.table);
  log('');
  log(`KMS calls per warm read: ${tokenRead.kmsCallsPerWarmRead.toFixed(4)}`);
  const row = (label: string, inFlight: number) => tokenRead.rows.find((candidate) => candidate.label === label && candidate.inFlight === inFlight);
  const floor1 = row('firestore get() (floor)', 1);
  const read1 = row('token use case, accountId (get)', 1);
  const floor16 = row('firestore get() (floor)', 16);
  const read16 = row('token use case, accountId (get)', 16);
  if (floor1 && read1 && floor16 && read16) {
    const p50Ratio = read1.p50Ms / floor1.p50Ms;
    const throughputShare = read16.perSecond / floor16.perSecond;
    log(`target p50 <= 1.5x floor:            ${p50Ratio.toFixed(2)}x  ${p50Ratio <= 1.5 ? 'met' : 'MISSED'}`);
    log(`target reads/s @16 >= 70 % of floor:  ${(throughputShare * 100).toFixed(0)} %  ${throughputShare >= 0.7 ? 'met' : 'MISSED'}`);
    log(`target 0 KMS calls per warm read:     ${tokenRead.kmsCallsPerWarmRead === 0 ? 'met' : 'MISSED'}`);
  }
}

async function refreshSweepSection(): Promise<void> {
  log('');
  const sweep = await runRefreshSweepBenchmark(log);
  log('');
  log(`Refresh sweep — ${sweep.connections} expiring connections, sandbox latency 50 ms, concurrency 20 (emulator, KMS stand-in, this machine)`);
  log(`wall time:               ${(sweep.wallMs / 1000).toFixed(2)} s   (provider-bound ideal ${(sweep.idealMs / 1000).toFixed(2)} s, ${(sweep.wallMs / sweep.idealMs).toFixed(2)}x)`);
  log(`refreshes per second:    ${sweep.refreshesPerSecond.toFixed(0)}   (ideal ${((sweep.connections / sweep.idealMs) * 1000).toFixed(0)})`);
  log(`refreshed / failed / remaining: ${sweep.refreshed} / ${sweep.failed} / ${sweep.remaining}`);
  log(`provider refresh calls:  ${sweep.providerRefreshCalls}`);
  log(`setup (not timed):       ${(sweep.setupMs / 1000).toFixed(1)} s`);
  log(`target within 2x ideal:  ${sweep.wallMs <= 2 * sweep.idealMs ? 'met' : 'MISSED'}`);
  log(`target 0 duplicate refresh calls: ${sweep.duplicateRefreshCalls}  ${sweep.duplicateRefreshCalls === 0 ? 'met' : 'MISSED'}`);
  log(`target 0 lost tokens:    ${sweep.lostTokens}  ${sweep.lostTokens === 0 && sweep.refreshed === sweep.connections ? 'met' : 'MISSED'}`);
}
