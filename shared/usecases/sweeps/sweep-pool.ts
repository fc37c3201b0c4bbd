// Runs a sweep's work over paged items: bounded concurrency, a cap per provider, jittered starts, and a deadline for new work.
//
// Pages are fetched ahead while workers run, so the pool never idles between pages. A worker takes the oldest
// queued item whose provider is under its cap; items of a capped provider wait without blocking the others.
// Nothing starts after the deadline: items already started finish, and everything not started is "remaining".
import type { Clock } from '../../time/clock.js';

export interface SweepPage<T> {
  readonly items: readonly T[];
  /** Where the next page starts; undefined when this was the last one. */
  readonly next: unknown;
}

export interface SweepPoolOptions<T> {
  /** Fetches the page after `cursor` (undefined for the first). */
  readonly fetchPage: (cursor: unknown) => Promise<SweepPage<T>>;
  readonly idOf: (item: T) => string;
  readonly providerOf: (item: T) => string;
  readonly work: (item: T) => Promise<void>;
  readonly concurrency: number;
  readonly providerCap: (provider: string) => number;
  /** Each worker waits a random part of this before its first item. */
  readonly jitterMs: number;
  /** Epoch ms on `clock`: no item starts at or after it. */
  readonly deadlineMs: number;
  readonly clock: Clock;
  readonly random?: () => number;
  /** How a worker waits out its jitter; injected so tests observe it without timing real sleeps. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface SweepPoolResult {
  /** Items whose work ran (whatever its outcome). */
  readonly started: number;
  /** Fetched but not started because the deadline came. */
  readonly notStarted: number;
  /** Whether pages remained unfetched when the pool stopped. */
  readonly morePages: boolean;
  /** The cursor after the last fetched page, for counting what remains. */
  readonly cursor: unknown;
  readonly stoppedByDeadline: boolean;
  /** A page query that failed: the pool finished what it had fetched and stopped. */
  readonly fetchError?: unknown;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runSweepPool<T>(options: SweepPoolOptions<T>): Promise<SweepPoolResult> {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new TypeError('concurrency must be a positive integer');
  const { clock } = options;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? realSleep;
  const queue: T[] = [];
  const seen = new Set<string>();
  const running = new Map<string, number>();
  let cursor: unknown;
  let exhausted = false;
  let fetching: Promise<void> | undefined;
  let fetchError: unknown;
  let started = 0;
  let stoppedByDeadline = false;
  // Wakes workers waiting for a provider slot or a page.
  let wake: () => void = () => undefined;
  let changed = new Promise<void>((resolve) => (wake = resolve));
  const signal = () => {
    wake();
    changed = new Promise<void>((resolve) => (wake = resolve));
  };

  const fill = (): void => {
    if (exhausted || fetching !== undefined || fetchError !== undefined) return;
    fetching = options
      .fetchPage(cursor)
      .then((page) => {
        // A connection moved by this sweep (a backoff inside the window) can come round again: once is enough.
        for (const item of page.items) {
          const id = options.idOf(item);
          if (seen.has(id)) continue;
          seen.add(id);
          queue.push(item);
        }
        cursor = page.next ?? cursor;
        exhausted = page.next === undefined;
      })
      .catch((error: unknown) => {
        fetchError = error;
      })
      .finally(() => {
        fetching = undefined;
        signal();
      });
  };

  const takeNext = (): T | undefined => {
    const index = queue.findIndex((item) => {
      const provider = options.providerOf(item);
      return (running.get(provider) ?? 0) < options.providerCap(provider);
    });
    if (index < 0) return undefined;
    return queue.splice(index, 1)[0];
  };

  const worker = async (): Promise<void> => {
    // Jitter only once there is work: an empty sweep returns at once.
    let jittered = options.jitterMs <= 0;
    for (;;) {
      if (clock.nowMs() >= options.deadlineMs) {
        stoppedByDeadline = queue.length > 0 || !exhausted;
        return;
      }
      // Keep one page ahead of the workers.
      if (queue.length < options.concurrency * 2) fill();
      const item = takeNext();
      if (item === undefined) {
        if (fetchError !== undefined) return;
        if (queue.length === 0 && exhausted && fetching === undefined) return;
        await changed;
        continue;
      }
      const provider = options.providerOf(item);
      running.set(provider, (running.get(provider) ?? 0) + 1);
      if (!jittered) {
        jittered = true;
        await sleep(Math.floor(random() * options.jitterMs));
      }
      started += 1;
      try {
        await options.work(item);
      } finally {
        running.set(provider, (running.get(provider) ?? 1) - 1);
        signal();
      }
    }
  };

  fill();
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  if (fetching !== undefined) await fetching;
  return {
    started,
    notStarted: queue.length,
    morePages: !exhausted,
    cursor,
    stoppedByDeadline,
    ...(fetchError === undefined ? {} : { fetchError }),
  };
}
