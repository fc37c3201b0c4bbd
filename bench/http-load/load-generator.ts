// The load generator: a closed loop of `inFlight` workers over keep-alive connections, in a process of its own so
// its CPU is not the measured server's. Run by runHttpLoad (./run-http-load.ts): a plan on argv, one JSON line out.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { HttpLoadPlan, HttpLoadResult } from './http-load-plan.js';

function send(agent: Agent, url: URL, call: HttpLoadPlan['calls'][number]): Promise<number> {
  return new Promise((resolve) => {
    const body = call.body ?? '';
    const outgoing = request(
      url,
      { method: call.method, agent, headers: { ...call.headers, 'content-length': String(Buffer.byteLength(body)) } },
      (response) => {
        response.on('data', () => undefined);
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', () => resolve(0));
      },
    );
    // A refused or reset connection is an answer too: status 0, counted, never a crash of the generator.
    outgoing.on('error', () => resolve(0));
    outgoing.end(body);
  });
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] as number;
}

async function run(plan: HttpLoadPlan): Promise<HttpLoadResult> {
  const url = new URL(plan.url);
  const agent = new Agent({ keepAlive: true, maxSockets: plan.inFlight, maxTotalSockets: plan.inFlight });
  let next = 0;
  const pick = () => plan.calls[next++ % plan.calls.length] as HttpLoadPlan['calls'][number];
  let recording = false;
  let stop = false;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const worker = async () => {
    while (!stop) {
      const begin = performance.now();
      const status = await send(agent, url, pick());
      if (!recording || stop) continue;
      latencies.push(performance.now() - begin);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  const workers = Array.from({ length: plan.inFlight }, worker);
  await new Promise((resolve) => setTimeout(resolve, plan.warmupMs));
  recording = true;
  // Tell the parent the measured window opened, so it samples the server's CPU over the same window.
  process.stdout.write(`${JSON.stringify({ window: 'open' })}\n`);
  const begin = performance.now();
  await new Promise((resolve) => setTimeout(resolve, plan.durationMs));
  stop = true;
  const elapsedMs = performance.now() - begin;
  process.stdout.write(`${JSON.stringify({ window: 'closed' })}\n`);
  await Promise.all(workers);
  agent.destroy();
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
