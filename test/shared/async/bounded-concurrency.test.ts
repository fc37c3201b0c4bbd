import { describe, expect, it } from 'vitest';
import { mapWithConcurrency } from '../../../shared/async/bounded-concurrency.js';

describe('mapWithConcurrency', () => {
  it('never has more than the limit in flight, and keeps results in input order', async () => {
    let inFlight = 0;
    let most = 0;
    const delays = [30, 5, 20, 1, 15, 2, 10];
    const results = await mapWithConcurrency(delays, 3, async (delay) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, delay));
      inFlight -= 1;
      return delay * 2;
    });
    expect(most).toBe(3);
    expect(results).toEqual(delays.map((delay) => delay * 2));
  });

  it('answers an empty list without calling the function', async () => {
    let calls = 0;
    await expect(mapWithConcurrency([], 4, async () => (calls += 1))).resolves.toEqual([]);
    expect(calls).toBe(0);
  });

  it('rejects with the first failure', async () => {
    await expect(
      mapWithConcurrency([1, 2, 3], 2, async (item) => {
        if (item === 2) throw new Error('item 2 failed');
        return item;
      }),
    ).rejects.toThrow('item 2 failed');
  });

  it('refuses a limit that is not a positive integer', async () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await expect(mapWithConcurrency([1], limit, async (item) => item)).rejects.toThrow(TypeError);
    }
  });
});
