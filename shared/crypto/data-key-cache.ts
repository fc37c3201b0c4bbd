// A bounded, short-lived in-memory cache of unwrapped data keys (LRU by count, fixed TTL), zeroing keys it lets go.
import type { Clock } from '../time/clock.js';

export interface DataKeyCacheOptions {
  readonly clock: Clock;
  /** 0 disables the cache. */
  readonly maxEntries: number;
  /** Time from insertion to expiry; 0 disables the cache. */
  readonly ttlMs: number;
}

interface Entry {
  readonly key: Buffer;
  readonly expiresAtMs: number;
}

export interface DataKeyCache {
  /** The cached key, owned by the cache: use it synchronously and never keep or modify it. */
  get(id: string): Buffer | undefined;
  /** Stores a private copy of `key`; the caller keeps ownership of (and may zero) its own buffer. */
  set(id: string, key: Buffer): void;
  /** Removes and zeroes an entry; true when there was one. */
  delete(id: string): boolean;
  clear(): void;
  readonly size: number;
}

export function createDataKeyCache(options: DataKeyCacheOptions): DataKeyCache {
  const { clock, maxEntries, ttlMs } = options;
  if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new TypeError('maxEntries must be a non-negative integer');
  if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new TypeError('ttlMs must be a non-negative number');
  const enabled = maxEntries > 0 && ttlMs > 0;
  // A Map iterates in insertion order: re-inserting on read keeps the least recently used entry first.
  const entries = new Map<string, Entry>();

  let lastSweepMs = clock.nowMs();

  const evict = (id: string, entry: Entry): void => {
    entries.delete(id);
    entry.key.fill(0);
  };

  // Expired keys that nobody reads again are still wiped, at most once per TTL (or minute).
  const sweepExpired = (nowMs: number): void => {
    if (nowMs - lastSweepMs < Math.min(ttlMs, 60_000)) return;
    lastSweepMs = nowMs;
    for (const [id, entry] of entries) if (nowMs >= entry.expiresAtMs) evict(id, entry);
  };

  return {
    get(id) {
      const entry = entries.get(id);
      if (!entry) return undefined;
      if (clock.nowMs() >= entry.expiresAtMs) {
        evict(id, entry);
        return undefined;
      }
      entries.delete(id);
      entries.set(id, entry);
      return entry.key;
    },
    set(id, key) {
      if (!enabled) return;
      const nowMs = clock.nowMs();
      sweepExpired(nowMs);
      const existing = entries.get(id);
      if (existing) evict(id, existing);
      // Not Buffer.from: that may carve the copy out of Node's shared pool slab.
      const copy = Buffer.alloc(key.length);
      key.copy(copy);
      entries.set(id, { key: copy, expiresAtMs: nowMs + ttlMs });
      for (const [oldestId, oldest] of entries) {
        if (entries.size <= maxEntries) break;
        evict(oldestId, oldest);
      }
    },
    delete(id) {
      const entry = entries.get(id);
      if (!entry) return false;
      evict(id, entry);
      return true;
    },
    clear() {
      for (const [id, entry] of entries) evict(id, entry);
    },
    get size() {
      return entries.size;
    },
  };
}
