import { describe, expect, it } from 'vitest';
import { createDataKeyCache } from '../../../shared/crypto/data-key-cache.js';
import { ManualClock } from '../../../shared/time/clock.js';

const key = (fill: number): Buffer => Buffer.alloc(32, fill);

describe('data key cache', () => {
  it('keeps at most maxEntries, dropping the least recently used and wiping it', () => {
    const cache = createDataKeyCache({ clock: new ManualClock(), maxEntries: 2, ttlMs: 60_000 });
    cache.set('a', key(1));
    cache.set('b', key(2));
    const a = cache.get('a')!; // a is now the most recently used
    cache.set('c', key(3));
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(a);
    expect(cache.get('c')?.equals(key(3))).toBe(true);
    cache.set('d', key(4));
    expect(cache.get('a')).toBeUndefined();
    expect(a.equals(Buffer.alloc(32))).toBe(true);
  });

  it('expires entries after the TTL and wipes them', () => {
    const clock = new ManualClock();
    const cache = createDataKeyCache({ clock, maxEntries: 10, ttlMs: 1_000 });
    cache.set('a', key(7));
    const held = cache.get('a')!;
    clock.advance(999);
    expect(cache.get('a')?.equals(key(7))).toBe(true);
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(held.equals(Buffer.alloc(32))).toBe(true);
  });

  it('wipes expired entries nobody reads again when new keys arrive', () => {
    const clock = new ManualClock();
    const cache = createDataKeyCache({ clock, maxEntries: 10, ttlMs: 1_000 });
    cache.set('a', key(7));
    const held = cache.get('a')!;
    clock.advance(5_000);
    cache.set('b', key(8));
    expect(held.equals(Buffer.alloc(32))).toBe(true);
    expect(cache.size).toBe(1);
  });

  it('stores a private copy, so the caller may wipe its own buffer', () => {
    const cache = createDataKeyCache({ clock: new ManualClock(), maxEntries: 10, ttlMs: 1_000 });
    const mine = key(9);
    cache.set('a', mine);
    mine.fill(0);
    expect(cache.get('a')?.equals(key(9))).toBe(true);
  });

  it('delete and clear wipe keys', () => {
    const cache = createDataKeyCache({ clock: new ManualClock(), maxEntries: 10, ttlMs: 1_000 });
    cache.set('a', key(1));
    cache.set('b', key(2));
    const a = cache.get('a')!;
    const b = cache.get('b')!;
    expect(cache.delete('a')).toBe(true);
    expect(cache.delete('a')).toBe(false);
    cache.clear();
    expect([a, b].every((buffer) => buffer.equals(Buffer.alloc(32)))).toBe(true);
    expect(cache.size).toBe(0);
  });

  it('caches nothing when disabled by size or TTL', () => {
    for (const options of [{ maxEntries: 0, ttlMs: 1_000 }, { maxEntries: 10, ttlMs: 0 }]) {
      const cache = createDataKeyCache({ clock: new ManualClock(), ...options });
      cache.set('a', key(1));
      expect(cache.get('a')).toBeUndefined();
    }
  });
});
