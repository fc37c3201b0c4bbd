// The scheduler jobs on the local stack: a timer that POSTs to the refresh and health functions with an ID token of the
// scheduler's service account, as Cloud Scheduler's OIDC jobs do, and prints what each run did.
import { z } from 'zod';

export interface LocalSweepsOptions {
  /** Function name → URL (the refresh and health entries are used). */
  readonly functions: Readonly<Record<string, string>>;
  /** Mints an ID token for the scheduler's service account with this audience. */
  readonly mintIdToken: (audience: string) => Promise<string>;
  readonly intervalMs: number;
  /** One line per run that changed or found something; failures of the call itself too. */
  readonly print: (line: string) => void;
}

export interface LocalSweeps {
  /** Runs both sweeps once now (after any run in progress), for tests and impatient people. */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

const sweepNames = ['refresh', 'health'] as const;

const refreshReportSchema = z
  .object({ refreshed: z.number(), skipped: z.number(), failed: z.object({ total: z.number() }).loose(), remaining: z.number() })
  .loose();
const healthReportSchema = z
  .object({ checked: z.number(), healthy: z.number(), unhealthy: z.number(), needsReauth: z.number(), remaining: z.number() })
  .loose();

function describeRun(name: (typeof sweepNames)[number], body: unknown): string | undefined {
  if (name === 'refresh') {
    const report = refreshReportSchema.safeParse(body);
    if (!report.success) return 'refresh sweep answered with an unexpected body';
    const { refreshed, failed, remaining } = report.data;
    if (refreshed + failed.total + remaining === 0) return undefined;
    return `refresh sweep: ${refreshed} refreshed, ${failed.total} failed, ${remaining} left for the next run`;
  }
  const report = healthReportSchema.safeParse(body);
  if (!report.success) return 'health sweep answered with an unexpected body';
  const { checked, healthy, unhealthy, needsReauth } = report.data;
  if (checked === 0) return undefined;
  return `health sweep: ${checked} checked, ${healthy} healthy, ${unhealthy} unhealthy, ${needsReauth} need the user to reconnect`;
}

export function startLocalSweeps(options: LocalSweepsOptions): LocalSweeps {
  const stopped = new AbortController();
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const runOne = async (name: (typeof sweepNames)[number]) => {
    const url = options.functions[name];
    if (url === undefined) return;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await options.mintIdToken(url)}` },
        body: '{}',
        signal: stopped.signal,
      });
      const body: unknown = await response.json().catch(() => undefined);
      if (!response.ok) {
        options.print(`${name} sweep failed: HTTP ${response.status}${(body as { code?: string } | undefined)?.code ? ` (${(body as { code: string }).code})` : ''}`);
        return;
      }
      const line = describeRun(name, body);
      if (line !== undefined) options.print(line);
    } catch (error) {
      if (!stopped.signal.aborted) options.print(`${name} sweep could not be called: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const round = () => {
    running = running.then(async () => {
      for (const name of sweepNames) if (!stopped.signal.aborted) await runOne(name);
    });
    return running;
  };

  // Never overlapping itself: the next round is scheduled when the previous one ends.
  const schedule = () => {
    if (stopped.signal.aborted) return;
    timer = setTimeout(() => void round().then(schedule), options.intervalMs);
    timer.unref();
  };
  schedule();

  return {
    runNow: round,
    stop: async () => {
      if (stopped.signal.aborted) return;
      stopped.abort();
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}

/** SWEEP_INTERVAL_SECONDS (default 30): how often `npm start` runs the refresh and health sweeps. */
export function localSweepIntervalMs(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.SWEEP_INTERVAL_SECONDS;
  if (raw === undefined || raw === '') return 30_000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 86_400) {
    throw new TypeError(`SWEEP_INTERVAL_SECONDS must be a number of seconds between 1 and 86400, got ${JSON.stringify(raw)}`);
  }
  return Math.round(seconds * 1000);
}
