// Runs the load generator in a child process and samples the server processes' CPU over exactly its measured window.
import { execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { HttpLoadPlan, HttpLoadResult } from './http-load-plan.js';

const generator = fileURLToPath(new URL('./load-generator.ts', import.meta.url));
const clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** User plus system CPU of a process (all its threads) so far, in milliseconds, from /proc. */
export function processCpuMs(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the whole line.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond) * 1000;
}

/**
 * Starts a CPU window over named processes: the returned function gives each one's CPU since the start, in
 * milliseconds, or null for a name given no process (an emulator someone else started has none to read).
 */
export function cpuWindow<Name extends string>(pids: Readonly<Record<Name, number | undefined>>): () => Record<Name, number | null> {
  const entries = Object.entries(pids) as [Name, number | undefined][];
  const before = entries.map(([name, pid]) => [name, pid, pid === undefined ? 0 : processCpuMs(pid)] as const);
  return () => Object.fromEntries(before.map(([name, pid, atStart]) => [name, pid === undefined ? null : processCpuMs(pid) - atStart])) as Record<Name, number | null>;
}

export interface HttpLoadRun extends HttpLoadResult {
  /** CPU the watched server processes spent in the window, per answered request, in milliseconds. */
  readonly serverCpuMsPerRequest: number;
  /** The same as a share of one core over the window. */
  readonly serverCpuShare: number;
  /** CPU the load generator itself spent in the window, per answered request, in milliseconds (it shares the box). */
  readonly generatorCpuMsPerRequest: number;
  /** The measured window on the monotonic clock, in microseconds (what V8 CPU profiles time their samples by). */
  readonly windowUs: { readonly from: number; readonly to: number };
}

export async function runHttpLoad(plan: HttpLoadPlan, serverPids: readonly number[]): Promise<HttpLoadRun> {
  const child = fork(generator, [JSON.stringify(plan)], { execArgv: process.execArgv, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const cpu = () => serverPids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
  let windowCpu = 0;
  let generatorCpu = 0;
  let windowBegan = 0;
  let windowMs = 0;
  let windowFromUs = 0;
  let windowToUs = 0;
  let result: HttpLoadResult | undefined;
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  for await (const line of lines) {
    const message = JSON.parse(line) as { window?: 'open' | 'closed'; result?: HttpLoadResult };
    if (message.window === 'open') {
      windowFromUs = Number(process.hrtime.bigint() / 1000n);
      windowCpu = cpu();
      generatorCpu = processCpuMs(child.pid as number);
      windowBegan = performance.now();
    } else if (message.window === 'closed') {
      windowCpu = cpu() - windowCpu;
      generatorCpu = processCpuMs(child.pid as number) - generatorCpu;
      windowMs = performance.now() - windowBegan;
      windowToUs = Number(process.hrtime.bigint() / 1000n);
    } else if (message.result) {
      result = message.result;
    }
  }
  const code = await new Promise<number | null>((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(child.exitCode)));
  if (result === undefined) throw new Error(`The load generator ended (exit ${code}) without a result`);
  return {
    ...result,
    serverCpuMsPerRequest: result.operations === 0 ? Number.NaN : windowCpu / result.operations,
    generatorCpuMsPerRequest: result.operations === 0 ? Number.NaN : generatorCpu / result.operations,
    serverCpuShare: windowMs === 0 ? Number.NaN : windowCpu / windowMs,
    windowUs: { from: windowFromUs, to: windowToUs },
  };
}
