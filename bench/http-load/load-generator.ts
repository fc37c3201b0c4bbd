// The load generator: autocannon keeping `inFlight` keep-alive connections busy, one request each at a time, in a
// process of its own so its CPU is not the measured server's. Run by runHttpLoad (./run-http-load.ts): a plan on argv,
// one JSON line out.
//
// Why autocannon rather than Node's http client: it writes prepared request bytes and parses answers without a stream
// per request, so on this box it costs the shared cores far less per request. Seen against a fixed-body server, CPU
// per request: 0.011 ms at 16 in flight and 0.018 at 1,000, against 0.041 and 0.064 for a loop over http.request.
import autocannon from 'autocannon';
import { sleep } from '../../local/emulator-readiness.js';
import type { HttpLoadPlan, HttpLoadResult } from './http-load-plan.js';

/** Longer than any answer a run should see: one that takes this long is counted as no answer (status 0). */
const REQUEST_TIMEOUT_SECONDS = 30;

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] as number;
}

async function run(plan: HttpLoadPlan): Promise<HttpLoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let recording = false;
  const count = (status: string) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
  };
  let finished: (error: Error | null) => void = () => undefined;
  const ended = new Promise<void>((resolve, reject) => {
    finished = (error) => (error ? reject(error) : resolve());
  });
  const options: autocannon.Options = {
    url: plan.url,
    connections: plan.inFlight,
    pipelining: 1,
    timeout: REQUEST_TIMEOUT_SECONDS,
    // Stopped below once the measured window closes; this only bounds a run whose parent went away.
    duration: Math.ceil((plan.warmupMs + plan.durationMs) / 1000) + REQUEST_TIMEOUT_SECONDS,
    // Each connection goes through the calls in turn.
    requests: plan.calls.map((call) => ({ method: call.method as autocannon.Request['method'], headers: { ...call.headers }, body: call.body ?? '' })),
  };
  const instance = autocannon(options, (error) => finished(error));
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (!recording) return;
    latencies.push(responseTimeMs);
    count(String(statusCode));
  });
  // A refused, reset or timed-out request is an answer too: status 0, counted, never a crash of the generator.
  instance.on('reqError', () => {
    if (recording) count('0');
  });
  await sleep(plan.warmupMs);
  recording = true;
  // Tell the parent the measured window opened, so it samples the server's CPU over the same window.
  process.stdout.write(`${JSON.stringify({ window: 'open' })}\n`);
  const begin = performance.now();
  await sleep(plan.durationMs);
  recording = false;
  const elapsedMs = performance.now() - begin;
  process.stdout.write(`${JSON.stringify({ window: 'closed' })}\n`);
  instance.stop();
  await ended;
  const sorted = Float64Array.from(latencies).sort();
  return {
    operations: sorted.length,
    perSecond: (sorted.length / elapsedMs) * 1000,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    statuses,
  };
}

const plan = JSON.parse(process.argv[2] ?? '{}') as HttpLoadPlan;
const result = await run(plan);
process.stdout.write(`${JSON.stringify({ result })}\n`);
