// The token function's connection cache against the real Firestore emulator: warm reads skip Firestore only while
// the change listener's heartbeat vouches for the entry; every stamped change arrives within the staleness bound.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../shared/log/logger.js';
import { FieldValue } from '@google-cloud/firestore';
import { CHANGE_STAMP_FIELD, changeStamp } from '../../../../shared/store/connection-change.js';
import { connectionRef } from '../../../../shared/store/connection-reads.js';
import { ManualClock, systemClock, type Clock } from '../../../../shared/time/clock.js';
import { type ConnectionCache, type ConnectionCacheSettings, createConnectionCache, defaultConnectionCacheSettings } from '../../../../shared/usecases/token/connection-cache.js';
import { writeConnection } from '../../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';
import { startVaultHarness, type VaultHarness } from '../../../support/vault-harness.js';

// A project per test: the emulator's listen streams are per project, and closing a listener on it can fail a commit
// made at that moment in the same project (an emulator fault; see the bench notes), so no test sees another's.
const TESTS = 13;
const projects = Array.from({ length: TESTS }, () => useFirestoreTestProject('connection-cache'));
let testIndex = -1;
const project = { get firestore() { return (projects[testIndex] ?? projects[0])!.firestore; } };
let vaults: VaultHarness;
const caches: ConnectionCache[] = [];
let nextUser = 0;

beforeAll(async () => {
  vaults = await startVaultHarness();
});
beforeEach(() => {
  testIndex += 1;
});
afterEach(() => {
  for (const cache of caches.splice(0)) cache.close();
});
afterAll(async () => {
  await vaults.close();
});

function newCache(settings: Partial<ConnectionCacheSettings> = {}, clock: Clock = systemClock, logLines: string[] = []): ConnectionCache {
  const cache = createConnectionCache(
    { firestore: project.firestore, clock, logger: createLogger({ sink: (line) => logLines.push(line) }), instanceId: `cache-test-${caches.length}` },
    { ...defaultConnectionCacheSettings, ...settings },
  );
  caches.push(cache);
  return cache;
}

async function newConnection(overrides: { userId?: string; providerAccountId?: string } = {}): Promise<{ id: string; userId: string }> {
  const userId = overrides.userId ?? `user-${(nextUser += 1)}`;
  const id = await writeConnection(project.firestore, vaults.vault, {
    tenantId: 'acme',
    userId,
    provider: 'slack',
    providerAccountId: overrides.providerAccountId ?? `T-${userId}`,
    credentials: { accessToken: 'fake-access-token-for-cache-tests' },
    expiresAtMs: Date.now() + 3_600_000,
  });
  return { id, userId };
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<{ value: T; elapsedMs: number }> {
  const begin = Date.now();
  for (;;) {
    const value = await read();
    if (done(value)) return { value, elapsedMs: Date.now() - begin };
    if (Date.now() - begin > timeoutMs) throw new Error(`not reached in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A cache that served a connection once its listener vouched, and whose proof has lapsed since: one beat at the start,
 * then none for a minute, and 400 ms pass against a 300 ms bound. The clock stands still until a read is served, so a
 * loaded machine's late echo cannot age the proof before it is used (with real time, an echo 300 ms late left no read
 * to serve and the test waiting).
 */
async function cacheWithLapsedProof(): Promise<{ id: string; cache: ConnectionCache }> {
  const { id } = await newConnection();
  const clock = new ManualClock(Date.now());
  const cache = newCache({ beatIntervalMs: 60_000, maxStalenessMs: 300 }, clock);
  await until(() => cache.byId(id), () => cache.stats().hits > 0);
  clock.advance(400);
  return { id, cache };
}

describe('connection cache', () => {
  it('answers warm reads without Firestore once the listener and the heartbeat prove the entry current', async () => {
    const { id } = await newConnection();
    const cache = newCache();
    expect((await cache.byId(id))?.document.status).toBe('active');
    // Not `entries: 1`: the connection was written a moment ago, so the new listener's first snapshot reports it as a
    // change, which can drop the entry just filled (a loaded run saw entries 0); the warm reads below are the point.
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 1 });
    await until(() => cache.byId(id), () => cache.stats().hits > 0);
    const before = cache.stats();
    for (let read = 0; read < 100; read += 1) expect((await cache.byId(id))?.id).toBe(id);
    expect(cache.stats().hits - before.hits).toBe(100);
    expect(cache.stats().misses).toBe(before.misses);
  });

  it('makes one Firestore read for reads of one connection that come while its read is out, and keeps its answer', async () => {
    const warm = await newConnection();
    const { id } = await newConnection();
    const cache = newCache();
    // The listener vouching first: a joined read is answered only once the listener vouches for the shared answer.
    await until(() => cache.byId(warm.id), () => cache.stats().hits > 0);
    // Both were written before the listener began: its first snapshot, which reports them as changed, came before the
    // echo waited for above, so nothing drops the entry the reads below fill.
    const before = cache.stats();
    const answers = await Promise.all(Array.from({ length: 50 }, () => cache.byId(id)));
    expect(answers.every((answer) => answer?.id === id)).toBe(true);
    const after = cache.stats();
    // Each read that came while the first was out used to replace its reservation and read again, so under steady
    // reads of one connection no answer was kept (seen: ~900 Firestore reads a second for 64 connections, for 16 s).
    expect({ misses: after.misses - before.misses, joined: after.joined - before.joined }).toEqual({ misses: 1, joined: 49 });
    const hitsBefore = after.hits;
    expect((await cache.byId(id))?.id).toBe(id);
    expect(cache.stats().hits - hitsBefore).toBe(1);
  });

  it('sees a revocation, a scope change and a rotated credential within the staleness bound', async () => {
    const { id } = await newConnection();
    const cache = newCache();
    await until(() => cache.byId(id), () => cache.stats().hits > 0);
    const ref = connectionRef(project.firestore, id);
    await ref.update({ scopes: ['chat:write', 'users:read'], ...changeStamp() });
    const scopes = await until(() => cache.byId(id), (value) => value?.document.scopes.length === 2);
    expect(scopes.elapsedMs).toBeLessThan(defaultConnectionCacheSettings.maxStalenessMs);
    await ref.update({ status: 'revoked', revokedAtMs: Date.now(), ...changeStamp() });
    const revoked = await until(() => cache.byId(id), (value) => value?.document.status === 'revoked');
    expect(revoked.elapsedMs).toBeLessThan(defaultConnectionCacheSettings.maxStalenessMs);
    await ref.delete();
    const deleted = await until(() => cache.byId(id), (value) => value === undefined);
    expect(deleted.elapsedMs).toBeLessThan(defaultConnectionCacheSettings.maxStalenessMs);
  });

  it('keeps a user lookup current: a second account makes it ambiguous, a revoked one leaves it', async () => {
    const { userId } = await newConnection();
    const cache = newCache();
    const filter = { tenantId: 'acme', userId, provider: 'slack' };
    await until(() => cache.byUser(filter), () => cache.stats().hits > 0);
    expect(await cache.byUser(filter)).toHaveLength(1);
    const second = await newConnection({ userId, providerAccountId: 'T-second' });
    await until(() => cache.byUser(filter), (value) => value.length === 2);
    await connectionRef(project.firestore, second.id).update({ status: 'revoked', ...changeStamp() });
    await until(() => cache.byUser(filter), (value) => value.length === 1);
  });

  it('keeps listening through a rollover to a new listener, and serves warm reads after it', async () => {
    const first = await newConnection();
    // The listener's result set holds every connection changed since it began: past 2 a new listener takes over.
    const cache = newCache({ maxWatchedDocuments: 2 });
    await until(() => cache.byId(first.id), () => cache.stats().hits > 0);
    const more = [await newConnection(), await newConnection(), await newConnection()];
    await until(async () => cache.stats().rollovers, (rollovers) => rollovers > 0);
    const last = more.at(-1) as { id: string };
    await until(() => cache.byId(last.id), () => cache.stats().hits > 1);
    await connectionRef(project.firestore, last.id).update({ status: 'revoked', revokedAtMs: Date.now(), ...changeStamp() });
    const revoked = await until(() => cache.byId(last.id), (value) => value?.document.status === 'revoked');
    expect(revoked.elapsedMs).toBeLessThan(defaultConnectionCacheSettings.maxStalenessMs);
  });

  it('writes the next heartbeat only once the last one echoed (or the staleness bound passed)', async () => {
    const { id } = await newConnection();
    // A tick every 5 ms, far faster than an echo comes back: ticks that find a beat unheard are skipped.
    const cache = newCache({ beatIntervalMs: 5 });
    const began = Date.now();
    await until(() => cache.byId(id), () => Date.now() - began > 1_000);
    const { beats, echoes } = cache.stats();
    expect(beats).toBeGreaterThan(3);
    // Within a second, at most one beat can have waited out the 1 s bound, and one may be out now.
    expect(beats).toBeLessThanOrEqual(echoes + 2);
  });

  it('hears a write that skipped the change stamp no later than maxEntryAgeMs', async () => {
    const { id } = await newConnection();
    // A document whose last stamp is older than the listener's start, as most are: only stamped writes bring it in.
    await connectionRef(project.firestore, id).update({ [CHANGE_STAMP_FIELD]: FieldValue.delete() });
    const clock = new ManualClock(Date.now());
    const cache = newCache({ maxEntryAgeMs: 2_000 }, clock);
    const warm = async () => {
      clock.advance(1);
      return cache.byId(id);
    };
    await until(warm, () => cache.stats().hits > 0);
    // Unstamped, as an edit in the console would be: the listener never hears of it.
    await connectionRef(project.firestore, id).update({ scopes: ['edited-out-of-band'] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await cache.byId(id))?.document.scopes).not.toContain('edited-out-of-band');
    clock.advance(2_001);
    // The entry is too old now; the read goes to Firestore (and the heartbeat's proof, aged by the jump, recovers).
    await until(warm, (value) => value?.document.scopes.includes('edited-out-of-band') === true);
  });

  it('reads Firestore when no heartbeat echo is recent enough to prove the channel live', async () => {
    const { id, cache } = await cacheWithLapsedProof();
    const before = cache.stats();
    expect((await cache.byId(id))?.id).toBe(id);
    expect(cache.stats()).toMatchObject({ hits: before.hits, misses: before.misses + 1 });
  });

  it('while the listener cannot vouch, reads of one connection that come together share reads begun after they came', async () => {
    const { id, cache } = await cacheWithLapsedProof();
    const before = cache.stats();
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.byId(id)));
    expect(answers.every((answer) => answer?.id === id)).toBe(true);
    const after = cache.stats();
    // The first read goes to Firestore; the others came while it was out, so its answer cannot serve them unvouched.
    // The first of them to see it answered reads again, and the rest take that read's answer: it began after they came,
    // so it is as current as their own would be. Before, each of the 20 read Firestore, the emulator slowed under those
    // reads, its heartbeat echoes fell behind, and the cache could not vouch again (a burst of 1,000 ran at 0 hits).
    expect({ misses: after.misses - before.misses, joined: after.joined - before.joined, hits: after.hits - before.hits }).toEqual({ misses: 2, joined: 18, hits: 0 });
  });

  it('never serves a document its listener cannot read: a corrupt one goes to Firestore and fails there', async () => {
    const { id } = await newConnection();
    const cache = newCache();
    await until(() => cache.byId(id), () => cache.stats().hits > 0);
    await connectionRef(project.firestore, id).update({ status: 'no-such-status', ...changeStamp() });
    await until(() => cache.byId(id).then(() => false, () => true), (failed) => failed);
    await expect(cache.byId(id)).rejects.toMatchObject({ code: 'internal' });
  });

  it('holds at most maxEntries lookups, and drops idle ones', async () => {
    const clock = new ManualClock(Date.now());
    const cache = newCache({ maxEntries: 2, idleMs: 4_000 }, clock);
    const ids = await Promise.all([newConnection(), newConnection(), newConnection()]);
    // The listener's first snapshot holds the minute's changes, these three included, and drops what it may touch:
    // once it vouches, nothing drops entries but room.
    const [first] = ids;
    await until(() => cache.byId(first!.id), () => cache.stats().hits > 0);
    for (const { id } of ids.slice(1)) await cache.byId(id);
    expect(cache.stats()).toMatchObject({ entries: 2, evictions: 1 });
    expect(await cache.byId(first!.id)).toBeDefined();
    expect(cache.stats()).toMatchObject({ entries: 2, evictions: 2 });
    clock.advance(5_000);
    // The idle sweep runs every max(1 s, idleMs / 4) of real time.
    await until(async () => cache.stats().entries, (entries) => entries === 0, 20_000);
  });

  it('with maxEntries 0 reads Firestore every time and keeps nothing', async () => {
    const { id } = await newConnection();
    const cache = newCache({ maxEntries: 0 });
    for (let read = 0; read < 3; read += 1) expect((await cache.byId(id))?.id).toBe(id);
    expect(cache.stats()).toMatchObject({ hits: 0, entries: 0 });
  });

  it('reports its reads once a period, and counts the entries its listener could not vouch for as unproven', async () => {
    const { id } = await newConnection();
    const lines: string[] = [];
    // A staleness bound of 0 ms: no echo is ever recent enough, so every read of a filled entry is unproven.
    const cache = newCache({ maxStalenessMs: 0, idleMs: 4_000 }, systemClock, lines);
    await until(() => cache.byId(id), () => cache.stats().unproven >= 2);
    expect(cache.stats()).toMatchObject({ hits: 0, aged: 0 });
    const report = await until(
      async () => lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.event === 'token_cache.stats'),
      (line) => line !== undefined,
    );
    const { misses, unproven } = cache.stats();
    expect(report.value).toMatchObject({ severity: 'INFO', hits: 0, misses, unproven, aged: 0 });
  });
});
