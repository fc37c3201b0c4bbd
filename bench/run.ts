// `npm run bench`: runs the project's benchmarks in one process and prints their tables and targets.
import { runTokenReadBenchmark } from './token-read.js';

const log = (line: string) => process.stdout.write(`${line}\n`);

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
// gRPC and the functions framework keep handles open; the benchmark is done.
process.exit(0);
