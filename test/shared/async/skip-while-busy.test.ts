import { describe, expect, it } from 'vitest';
import { skipWhileBusy } from '../../../shared/async/skip-while-busy.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('skipWhileBusy', () => {
  it('starts no second run while the first is in progress, and starts again once it ends', async () => {
    let started = 0;
    let finish: () => void = () => undefined;
    const tick = skipWhileBusy(() => {
      started += 1;
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    expect(tick()).toBe(true);
    await settle();
    expect([tick(), tick(), tick()]).toEqual([false, false, false]);
    expect(started).toBe(1);
    finish();
    await settle();
    expect(tick()).toBe(true);
    await settle();
    expect(started).toBe(2);
  });

  it('frees the slot after a run that rejects or throws', async () => {
    let calls = 0;
    const tick = skipWhileBusy(() => {
      calls += 1;
      if (calls === 1) throw new Error('synchronous failure');
      return Promise.reject(new Error('asynchronous failure'));
    });
    expect(tick()).toBe(true);
    await settle();
    expect(tick()).toBe(true);
    await settle();
    expect(tick()).toBe(true);
    await settle();
    expect(calls).toBe(3);
  });
});
