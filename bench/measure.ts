// Runs an operation at a fixed number in flight and reports latency percentiles and throughput.
import { performance } from 'node:perf_hooks';

export interface Measurement {
  readonly label: string;
  readonly inFlight: number;
  readonly operations: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly perSecond: number;
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] as number;
}

/** Runs `count` calls with `inFlight` workers pulling from one counter; each call's latency and the elapsed time. */
async function runCalls(operation: () => Promise<unknown>, inFlight: number, count: number): Promise<{ latencies: number[]; elapsedMs: number }> {
  const latencies: number[] = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started += 1;
      const begin = performance.now();
      await operation();
      latencies.push(performance.now() - begin);
    }
  };
  const begin = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { latencies, elapsedMs: performance.now() - begin };
}

function summarise(label: string, inFlight: number, latencies: number[], elapsedMs: number): Measurement {
  latencies.sort((a, b) => a - b);
  return {
    label,
    inFlight,
    operations: latencies.length,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    perSecond: (latencies.length / elapsedMs) * 1000,
  };
}

/** Warms up, then runs `operations` calls with `inFlight` workers pulling from one counter. */
export async function measure(label: string, operation: () => Promise<unknown>, inFlight: number, operations: number): Promise<Measurement> {
  for (let warm = 0; warm < Math.min(200, operations / 5); warm += 1) await operation();
  const { latencies, elapsedMs } = await runCalls(operation, inFlight, operations);
  return summarise(label, inFlight, latencies, elapsedMs);
}

/**
 * Measures paths meant to be compared (a call and its floor) in alternating rounds, `operations` calls each in all,
 * after warming each with `warmCalls`. Measured one after the other, the later path ran in a process further warmed
 * (compiled code, sized heaps) and at another moment of the machine's load, and the difference between them carried
 * both: on this 2-core machine the same proxied call's p50 moved from 2.5 to 1.7 ms over five rounds.
 */
export async function measureAlternating(
  paths: readonly { readonly label: string; readonly operation: () => Promise<unknown> }[],
  inFlight: number,
  operations: number,
  options: { readonly rounds: number; readonly warmCalls: number },
): Promise<Measurement[]> {
  for (const path of paths) await runCalls(path.operation, inFlight, options.warmCalls);
  const totals = paths.map(() => ({ latencies: [] as number[], elapsedMs: 0 }));
  for (let round = 0; round < options.rounds; round += 1) {
    for (const [index, path] of paths.entries()) {
      const { latencies, elapsedMs } = await runCalls(path.operation, inFlight, Math.ceil(operations / options.rounds));
      const total = totals[index] as { latencies: number[]; elapsedMs: number };
      total.latencies.push(...latencies);
      total.elapsedMs += elapsedMs;
    }
  }
  return paths.map((path, index) => {
    const total = totals[index] as { latencies: number[]; elapsedMs: number };
    return summarise(path.label, inFlight, total.latencies, total.elapsedMs);
  });
}

export function formatTable(rows: readonly Measurement[], floorOf: (row: Measurement) => Measurement | undefined): string {
  const header = ['path', 'in flight', 'ops', 'p50 ms', 'p99 ms', 'reads/s', 'p50 vs floor', 'reads/s vs floor'];
  const lines = rows.map((row) => {
    const floor = floorOf(row);
    return [
      row.label,
      String(row.inFlight),
      String(row.operations),
      row.p50Ms.toFixed(2),
      row.p99Ms.toFixed(2),
      row.perSecond.toFixed(0),
      floor && floor !== row ? `${(row.p50Ms / floor.p50Ms).toFixed(2)}x` : '-',
      floor && floor !== row ? `${((row.perSecond / floor.perSecond) * 100).toFixed(0)} %` : '-',
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] as string).length)));
  const render = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] as number)).join('  ');
  return [render(header), render(widths.map((width) => '-'.repeat(width))), ...lines.map(render)].join('\n');
}
