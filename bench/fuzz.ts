// Fuzz benchmark: at least 10,000 generated requests per function over HTTP against the local stack, tallied by status class.
import { pathToFileURL } from 'node:url';
import { startFirestoreEmulator } from '../local/firestore-emulator.js';
import { type FuzzReport, formatFuzzTable, runFuzzCampaign } from '../test/reliability/fuzz-campaign.js';
import { startFuzzStack } from '../test/reliability/fuzz-stack.js';

export const BENCH_FUZZ_REQUESTS_PER_FUNCTION = 10_000;
const BENCH_FUZZ_SEED = 9700;

export interface FuzzBenchmark {
  readonly report: FuzzReport;
  readonly table: string;
}

export async function runFuzzBenchmark(log: (line: string) => void, requestsPerFunction = BENCH_FUZZ_REQUESTS_PER_FUNCTION): Promise<FuzzBenchmark> {
  // Nothing in this process may probe a real metadata server.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const emulator = await startFirestoreEmulator();
  try {
    const stack = await startFuzzStack({ firestoreEmulatorHost: emulator.host, projectId: 'bench-fuzz', log });
    try {
      const report = await runFuzzCampaign(stack, { requestsPerFunction, seed: BENCH_FUZZ_SEED, concurrency: 8, log });
      return { report, table: formatFuzzTable(report) };
    } finally {
      await stack.stop();
    }
  } finally {
    await emulator.stop();
  }
}

/** The report's verdict in lines: zero 5xx, zero crashes, zero rule violations, with the first few spelled out. */
export function fuzzVerdict(report: FuzzReport): string[] {
  const fiveXx = report.tallies.reduce((sum, tally) => sum + tally.byClass['5xx'] + tally.byClass['no answer'], 0);
  const lines = [
    `seed ${report.seed}; skipped (no module yet): ${report.skipped.length === 0 ? 'none' : report.skipped.join(', ')}`,
    `target 0 5xx / no answer:      ${fiveXx}  ${fiveXx === 0 ? 'met' : 'MISSED'}`,
    `target 0 crashes:              ${report.crashes.length}  ${report.crashes.length === 0 ? 'met' : 'MISSED'}`,
    `target 0 rule violations:      ${report.violationCount}  ${report.violationCount === 0 ? 'met' : 'MISSED'}`,
  ];
  for (const [kind, count] of [...report.violationKinds].sort(([, a], [, b]) => b - a)) lines.push(`  ${count} × ${kind}`);
  for (const crash of report.crashes.slice(0, 5)) lines.push(`  crash: ${crash}`);
  for (const violation of report.violations.slice(0, 5)) lines.push(`  ${violation.where}: ${violation.problems.join('; ')}\n    ${violation.request}`);
  return lines;
}

// `tsx bench/fuzz.ts [requestsPerFunction]` runs this benchmark alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const count = Number(process.argv[2] ?? BENCH_FUZZ_REQUESTS_PER_FUNCTION);
  const { report, table } = await runFuzzBenchmark(log, count);
  log(table);
  for (const line of fuzzVerdict(report)) log(line);
  process.exit(report.violationCount === 0 && report.crashes.length === 0 ? 0 : 1);
}
