// The sweep pool's discipline without a database: concurrency and per-provider caps hold, pages flow, the deadline stops new work.
import { describe, expect, it } from 'vitest';
import { runSweepPool, type SweepPage } from '../../../../shared/usecases/sweeps/sweep-pool.js';
import { ManualClock, systemClock } from '../../../../shared/time/clock.js';

interface Item {
  readonly id: string;
  readonly provider: string;
}

function pagesOf(items: readonly Item[], pageSize: number): (cursor: unknown) => Promise<SweepPage<Item>> {
  return async (cursor) => {
    const start = typeof cursor === 'number' ? cursor : 0;
    const end = start + pageSize;
    return { items: items.slice(start, end), next: end < items.length ? end : undefined };
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('runSweepPool', () => {
  it('never exceeds the overall concurrency or a provider cap, and works every item once', async () => {
    const items: Item[] = Array.from({ length: 60 }, (_, i) => ({ id: `c${i}`, provider: i % 3 === 0 ? 'slack' : 'google' }));
    const running = new Map<string, number>();
    let overall = 0;
    let maxOverall = 0;
    const maxPerProvider = new Map<string, number>();
    const worked: string[] = [];
    const result = await runSweepPool<Item>({
      fetchPage: pagesOf(items, 7),
      idOf: (item) => item.id,
      providerOf: (item) => item.provider,
      work: async (item) => {
        overall += 1;
        running.set(item.provider, (running.get(item.provider) ?? 0) + 1);
        maxOverall = Math.max(maxOverall, overall);
        maxPerProvider.set(item.provider, Math.max(maxPerProvider.get(item.provider) ?? 0, running.get(item.provider) ?? 0));
        await sleep(5);
        worked.push(item.id);
        overall -= 1;
        running.set(item.provider, (running.get(item.provider) ?? 1) - 1);
      },
      concurrency: 6,
      providerCap: (provider) => (provider === 'slack' ? 2 : 10),
      jitterMs: 0,
      deadlineMs: Date.now() + 60_000,
      clock: systemClock,
    });
    expect(result).toMatchObject({ started: 60, notStarted: 0, morePages: false, stoppedByDeadline: false });
    expect([...worked].sort()).toEqual(items.map((item) => item.id).sort());
    expect(maxOverall).toBe(6);
    expect(maxPerProvider.get('slack')).toBe(2);
  });

  it('keeps other providers moving while one is at its cap', async () => {
    const items: Item[] = [...Array.from({ length: 4 }, (_, i) => ({ id: `s${i}`, provider: 'slow' })), { id: 'f0', provider: 'fast' }];
    const finished: string[] = [];
    await runSweepPool<Item>({
      fetchPage: pagesOf(items, 10),
      idOf: (item) => item.id,
      providerOf: (item) => item.provider,
      work: async (item) => {
        await sleep(item.provider === 'slow' ? 40 : 1);
        finished.push(item.id);
      },
      concurrency: 3,
      providerCap: (provider) => (provider === 'slow' ? 1 : 3),
      jitterMs: 0,
      deadlineMs: Date.now() + 60_000,
      clock: systemClock,
    });
    // The fast item, queued behind four slow ones, finished first.
    expect(finished[0]).toBe('f0');
  });

  it('starts nothing after the deadline and reports what it did not start', async () => {
    const clock = new ManualClock(1_000_000);
    const items: Item[] = Array.from({ length: 20 }, (_, i) => ({ id: `c${i}`, provider: 'p' }));
    const result = await runSweepPool<Item>({
      fetchPage: pagesOf(items, 5),
      idOf: (item) => item.id,
      providerOf: (item) => item.provider,
      work: async () => {
        clock.advance(100);
      },
      concurrency: 1,
      providerCap: () => 1,
      jitterMs: 0,
      deadlineMs: clock.nowMs() + 350,
      clock,
    });
    expect(result.started).toBe(4);
    expect(result.stoppedByDeadline).toBe(true);
    expect(result.notStarted + (result.morePages ? 1 : 0)).toBeGreaterThan(0);
  });

  it('drops an item that a later page returns again, and reports a failed page query instead of throwing', async () => {
    const worked: string[] = [];
    let calls = 0;
    const result = await runSweepPool<Item>({
      fetchPage: async () => {
        calls += 1;
        if (calls === 1) return { items: [{ id: 'a', provider: 'p' }, { id: 'b', provider: 'p' }], next: 'page-2' };
        if (calls === 2) return { items: [{ id: 'b', provider: 'p' }, { id: 'c', provider: 'p' }], next: 'page-3' };
        throw new Error('query failed');
      },
      idOf: (item) => item.id,
      providerOf: (item) => item.provider,
      work: async (item) => {
        worked.push(item.id);
        await sleep(1);
      },
      concurrency: 1,
      providerCap: () => 1,
      jitterMs: 0,
      deadlineMs: Date.now() + 60_000,
      clock: systemClock,
    });
    expect(worked).toEqual(['a', 'b', 'c']);
    expect(result.fetchError).toBeInstanceOf(Error);
  });

  it('waits a random part of the jitter before a worker\'s first item, and not at all when there is nothing to do', async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
    };
    await runSweepPool<Item>({
      fetchPage: pagesOf([], 10),
      idOf: (item) => item.id,
      providerOf: (item) => item.provider,
      work: async () => undefined,
      concurrency: 4,
      providerCap: () => 4,
      jitterMs: 5_000,
      deadlineMs: Date.now() + 60_000,
      clock: systemClock,
      sleep,
    });
    expect(waits).toEqual([]);
    const worked: string[] = [];
    await runSweepPool<Item>({
      fetchPage: pagesOf([{ id: 'a', provider: 'p' }, { id: 'b', provider: 'p' }], 10),
      idOf: (item) => item.id,
      providerOf: (item) => item.provider,
      work: async (item) => {
        // Every worker has waited its jitter before its first item.
        expect(waits.length).toBeGreaterThan(0);
        worked.push(item.id);
      },
      concurrency: 2,
      providerCap: () => 2,
      jitterMs: 400,
      random: () => 0.5,
      deadlineMs: Date.now() + 60_000,
      clock: systemClock,
      sleep,
    });
    expect(worked.sort()).toEqual(['a', 'b']);
    expect(waits.length).toBeGreaterThanOrEqual(1);
    for (const wait of waits) expect(wait).toBe(200);
  });
});
