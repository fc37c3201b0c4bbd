// The token function's per-instance cache of the connections it has served, kept coherent with Firestore, so a warm
// read costs no Firestore read.
//
// Coherence: one listener per instance (store/connection-watch.ts) hears of every connection write, each of which drops
// the lookups it may touch: the connection by id, and its user's connections to its provider. An entry is served only
// while the listener vouches for it: the newest echo of the instance's heartbeat, which travels the same stream after
// every change committed before it, came from a beat sent at most `maxStalenessMs` ago. A stalled, cut or lagging
// stream stops the echoes, and reads go to Firestore until it is back. An entry is filled from a Firestore read made
// after its reservation was in place, so a change that lands during the read drops the reservation and the read's
// answer is not kept. A lookup whose read is out does not read again (each new read would replace the reservation, so
// under steady reads of one connection no answer would ever be kept): it takes the answer of a read that began after it
// came, or waits for the one out and takes its answer if the listener vouches for it. So a lookup has one Firestore
// read out at a time, also while the listener cannot vouch (unless a change drops its reservation).
//
// Writes that bypass the change stamp (connection-change.ts; say, an edit in the console) are not heard: entries
// older than `maxEntryAgeMs` are read again, which bounds how long such a write can go unseen.
//
// Nothing in the cache is a secret in the clear: it holds the stored documents, whose credentials stay sealed.
// Bounded: at most `maxEntries` lookups (least recently used dropped first); lookups idle for `idleMs` are dropped,
// and with no lookups left the listener and the heartbeat stop.
import type { Firestore } from '@google-cloud/firestore';
import { skipWhileBusy } from '../../async/skip-while-busy.js';
import type { Logger } from '../../log/logger.js';
import { type ChangedConnection, type ConnectionChangeWatch, watchConnectionChanges } from '../../store/connection-watch.js';
import type { Clock } from '../../time/clock.js';
import { type ConnectionSource, firestoreConnectionSource, type UserConnectionsFilter } from './connection-source.js';

export interface ConnectionCacheSettings {
  /** 0 turns the cache off: every read goes to Firestore. */
  readonly maxEntries: number;
  readonly idleMs: number;
  /** The longest a change may take to reach this instance before it stops serving from the cache. */
  readonly maxStalenessMs: number;
  readonly beatIntervalMs: number;
  /** Entries are read again after this long, whatever the listener says (see the header). */
  readonly maxEntryAgeMs: number;
  /**
   * The listener's query matches every connection changed since it began, and the client keeps that result set in
   * memory: once it has grown by this many documents a new listener takes over from now on. Kept small for the
   * Firestore emulator, where every commit a listener matches costs time in proportion to that listener's whole
   * result set (measured: 1,000 watched documents on each of two listeners took matching commits from 472/s to 19/s
   * and grew the emulator by 2 GB in 20 s). Not a timer: closing a listener can fail a commit in flight on the
   * emulator, so hand-overs stay rare. In production each costs one read per document changed in the margin.
   */
  readonly maxWatchedDocuments: number;
}

/** Sizes come from config (TOKEN_CACHE_*); the staleness bound is the product's promise, not a setting. */
export const defaultConnectionCacheSettings: ConnectionCacheSettings = {
  maxEntries: 500,
  idleMs: 60_000,
  maxStalenessMs: 1000,
  beatIntervalMs: 250,
  maxEntryAgeMs: 60_000,
  maxWatchedDocuments: 500,
};

/**
 * A listener hears of changes stamped after its start minus this margin: the stamps are Firestore's commit times and
 * the start is this instance's clock, so the margin absorbs any skew between the two (on Google's infrastructure
 * well under a millisecond; 5 s is thousands of times that, and keeps a new listener's first snapshot small).
 */
const LISTEN_SINCE_MARGIN_MS = 5_000;

export interface ConnectionCacheStats {
  /** Reads answered from a proven-current entry. */
  readonly hits: number;
  /** Reads that went to Firestore: no entry yet, entry dropped by a change or too old, or the listener not vouching. */
  readonly misses: number;
  /** Of the misses, those whose entry was there and young enough but the listener could not vouch for it. */
  readonly unproven: number;
  /** Of the misses, those whose entry was older than `maxEntryAgeMs`. */
  readonly aged: number;
  /**
   * Reads answered by another's Firestore read of the same lookup (counted in none of the above): one that began
   * after they came, or one out when they came whose answer was kept and the listener vouches for.
   */
  readonly joined: number;
  readonly entries: number;
  /** Entries dropped for room (least recently used) or idleness. */
  readonly evictions: number;
  /** Times a new listener took over from a full one. */
  readonly rollovers: number;
  /** Heartbeats sent, and those whose echo came back (the others failed, or waited out the staleness bound). */
  readonly beats: number;
  readonly echoes: number;
}

export interface ConnectionCache extends ConnectionSource {
  stats(): ConnectionCacheStats;
  close(): void;
}

interface Entry {
  /** undefined until the Firestore read that fills it answers. */
  state: { readonly value: unknown; readonly loadedAtMs: number } | undefined;
  lastUsedMs: number;
  /** The Firestore read filling this entry while it is out, and when it began (see `lookup`). */
  filling?: { readonly read: Promise<unknown>; readonly began: number };
}

export interface ConnectionCacheDependencies {
  readonly firestore: Firestore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Names this instance's heartbeat document. */
  readonly instanceId: string;
}

const idKey = (connectionId: string) => JSON.stringify(['id', connectionId]);
const userKey = (tenantId: unknown, userId: unknown, provider: unknown) => JSON.stringify(['user', tenantId, userId, provider]);

export function createConnectionCache(dependencies: ConnectionCacheDependencies, settings: ConnectionCacheSettings = defaultConnectionCacheSettings): ConnectionCache {
  const { clock } = dependencies;
  const direct = firestoreConnectionSource(dependencies.firestore);
  if (settings.maxEntries === 0) {
    return { ...direct, stats: () => ({ hits: 0, misses: 0, unproven: 0, aged: 0, joined: 0, entries: 0, evictions: 0, rollovers: 0, beats: 0, echoes: 0 }), close: () => undefined };
  }
  // Insertion order is recency order: a used entry is moved to the end, the first one is the least recently used.
  const entries = new Map<string, Entry>();
  let hits = 0;
  let misses = 0;
  let unproven = 0;
  let aged = 0;
  let joined = 0;
  let evictions = 0;
  const listener = changeListener(dependencies, settings, {
    dropFor(changed) {
      entries.delete(idKey(changed.id));
      entries.delete(userKey(changed.tenantId, changed.userId, changed.provider));
    },
    dropAll: () => entries.clear(),
  });

  const stats = (): ConnectionCacheStats => ({ hits, misses, unproven, aged, joined, entries: entries.size, evictions, rollovers: listener.rollovers(), ...listener.beats() });
  // What operators watch: how many reads the cache answered, and why the others went to Firestore (a listener that
  // cannot vouch turns every read into a Firestore read). One line per period with reads in it, the counts since the last.
  let reported = stats();
  const report = () => {
    const now = stats();
    if (now.hits === reported.hits && now.misses === reported.misses) return;
    dependencies.logger.info('token_cache.stats', 'Connection cache reads since the last report', {
      hits: now.hits - reported.hits,
      misses: now.misses - reported.misses,
      unproven: now.unproven - reported.unproven,
      aged: now.aged - reported.aged,
      joined: now.joined - reported.joined,
      evictions: now.evictions - reported.evictions,
      rollovers: now.rollovers - reported.rollovers,
      beats: now.beats - reported.beats,
      echoes: now.echoes - reported.echoes,
      entries: now.entries,
    });
    reported = now;
  };

  const evictIdle = setInterval(() => {
    const idleSince = clock.nowMs() - settings.idleMs;
    for (const [key, entry] of entries) {
      if (entry.lastUsedMs >= idleSince) continue;
      entries.delete(key);
      evictions += 1;
    }
    if (entries.size === 0) listener.stop();
    report();
  }, Math.max(1000, settings.idleMs / 4));
  evictIdle.unref();

  /**
   * Orders lookups and reads: a read that began after a lookup came (a higher number) is as current as one the lookup
   * would have made itself, so the lookup may take its answer whether or not the listener vouches.
   */
  let order = 0;

  async function lookup<T>(key: string, read: () => Promise<T>): Promise<T> {
    const came = (order += 1);
    // At most twice round: a read out when this lookup came is waited for once; after it, any read out began later.
    for (;;) {
      const now = clock.nowMs();
      const existing = entries.get(key);
      if (existing?.filling !== undefined) {
        existing.lastUsedMs = now;
        const filling = existing.filling;
        if (filling.began > came) {
          joined += 1;
          return (await filling.read) as T;
        }
        // Begun before this lookup came: its answer serves only if it was kept (no change heard while it was out)
        // and the listener vouches once it is in, as for a hit. Otherwise look again.
        await filling.read.catch(() => undefined);
        const kept = entries.get(key) === existing ? existing.state : undefined;
        if (kept !== undefined && listener.vouchesAt(clock.nowMs())) {
          joined += 1;
          return kept.value as T;
        }
        continue;
      }
      if (existing?.state !== undefined) {
        const young = now - existing.state.loadedAtMs <= settings.maxEntryAgeMs;
        const vouched = listener.vouchesAt(now);
        if (young && vouched) {
          entries.delete(key);
          entries.set(key, existing);
          existing.lastUsedMs = now;
          hits += 1;
          return existing.state.value as T;
        }
        if (!young) aged += 1;
        else unproven += 1;
      }
      return fill(key, now, read);
    }
  }

  /** Reads Firestore for a lookup through a reservation, which keeps the answer unless a change is heard meanwhile. */
  async function fill<T>(key: string, now: number, read: () => Promise<T>): Promise<T> {
    misses += 1;
    listener.start();
    // The reservation goes in before the read: a change heard while the read is out drops it, and the answer with it.
    const reservation: Entry = { state: undefined, lastUsedMs: now };
    entries.delete(key);
    if (entries.size >= settings.maxEntries) {
      const oldest = entries.keys().next();
      if (!oldest.done) {
        entries.delete(oldest.value);
        evictions += 1;
      }
    }
    entries.set(key, reservation);
    const pending = read();
    reservation.filling = { read: pending, began: (order += 1) };
    try {
      const value = await pending;
      if (entries.get(key) === reservation) reservation.state = { value, loadedAtMs: now };
      return value;
    } finally {
      delete reservation.filling;
    }
  }

  return {
    byId: (connectionId) => lookup(idKey(connectionId), () => direct.byId(connectionId)),
    byUser: (filter: UserConnectionsFilter) => lookup(userKey(filter.tenantId, filter.userId, filter.provider), () => direct.byUser(filter)),
    stats,
    close() {
      clearInterval(evictIdle);
      entries.clear();
      listener.stop();
    },
  };
}

interface ChangeListener {
  /** Whether an echo proves every change committed up to `maxStalenessMs` before `nowMs` has been heard. */
  vouchesAt(nowMs: number): boolean;
  /** Listens and beats, if not already. */
  start(): void;
  stop(): void;
  rollovers(): number;
  beats(): { beats: number; echoes: number };
}

/** The listener and its heartbeat: `dropFor` hears of every change, `dropAll` that nothing heard so far can be vouched for. */
function changeListener(
  dependencies: ConnectionCacheDependencies,
  settings: ConnectionCacheSettings,
  on: { dropFor(changed: ChangedConnection): void; dropAll(): void },
): ChangeListener {
  const { firestore, clock, logger, instanceId } = dependencies;
  const sentAtMs = new Map<number, number>();
  let current: ConnectionChangeWatch | undefined;
  /** The listener taking over from a full `current`, until it has echoed a beat of its own. */
  let successor: ConnectionChangeWatch | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sequence = 0;
  let provenAtMs = Number.NEGATIVE_INFINITY;
  let rollovers = 0;
  let echoes = 0;

  const listen = (): ConnectionChangeWatch => {
    /** The size of its first snapshot: a listener rolls over once it has grown by maxWatchedDocuments beyond it. */
    let startedWith: number | undefined;
    const watch: ConnectionChangeWatch = watchConnectionChanges(
      firestore,
      { instanceId, sinceMs: clock.nowMs() - LISTEN_SINCE_MARGIN_MS },
      {
        onSnapshot(changed, echoedBeat, watchedDocuments) {
          for (const each of changed) on.dropFor(each);
          if (echoedBeat !== undefined) {
            // Any listener's echo shows the beat landed: the next one may go.
            hear(echoedBeat);
            if (watch === successor) promote();
            // Only the listener in charge vouches; a successor's changes are heard all the same.
            if (watch === current) vouchFor(echoedBeat);
          }
          startedWith ??= watchedDocuments;
          // Growth since its start, not size: a successor starts with the last few seconds' changes (the margin), and
          // rolling over on size alone would hand over again and again whenever those hold that many.
          if (watch === current && successor === undefined && watchedDocuments - startedWith > settings.maxWatchedDocuments) {
            successor = listen();
            rollovers += 1;
          }
        },
        onError(error) {
          logger.warn('token_cache.listener_failed', 'The connection change listener failed; reads go to Firestore until a new one is current', { error });
          watch.stop();
          if (watch === successor) {
            successor = undefined;
            return;
          }
          if (watch !== current) return;
          current = undefined;
          provenAtMs = Number.NEGATIVE_INFINITY;
          // Changes may have been missed while it failed: nothing cached before now can be vouched for.
          on.dropAll();
        },
      },
    );
    return watch;
  };

  const promote = () => {
    current?.stop();
    current = successor;
    successor = undefined;
  };

  /** The newest beat sent, until its echo is heard: the next beat waits for it. */
  let unheard: { readonly sequence: number; readonly heard: () => void } | undefined;
  const hear = (echoedBeat: number) => {
    if (unheard === undefined || echoedBeat < unheard.sequence) return;
    echoes += 1;
    unheard.heard();
    unheard = undefined;
  };

  const vouchFor = (echoedBeat: number) => {
    const sent = sentAtMs.get(echoedBeat);
    if (sent !== undefined && sent > provenAtMs) provenAtMs = sent;
    for (const beat of sentAtMs.keys()) if (beat <= echoedBeat) sentAtMs.delete(beat);
  };

  // One heartbeat at a time, from its write until its echo: while Firestore is slow, ticks are skipped rather than
  // stacked on it. Waiting for the echo matters on the Firestore emulator, which answers every write a listener matches
  // by sending that listener's whole result set again (docs/token-cache.md, "On the emulator"): beats sent while echoes
  // lag only add to what delays them. A beat whose echo does not come (a lost write) holds the next one up for the
  // staleness bound at most; its proof ages out meanwhile and reads go to Firestore.
  const beat = skipWhileBusy(async () => {
    current ??= listen();
    sequence += 1;
    const now = clock.nowMs();
    sentAtMs.set(sequence, now);
    // Beats that never echo (lost writes) must not pile up.
    if (sentAtMs.size > 64) sentAtMs.delete(sentAtMs.keys().next().value as number);
    let timer: NodeJS.Timeout | undefined;
    const echoed = new Promise<void>((resolve) => {
      unheard = { sequence, heard: resolve };
      timer = setTimeout(resolve, settings.maxStalenessMs);
      timer.unref();
    });
    try {
      await current.beat(sequence, now);
      await echoed;
    } finally {
      clearTimeout(timer);
    }
  });

  return {
    vouchesAt: (nowMs) => nowMs - provenAtMs <= settings.maxStalenessMs,
    start() {
      if (timer !== undefined) return;
      timer = setInterval(beat, settings.beatIntervalMs);
      timer.unref();
      beat();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      current?.stop();
      successor?.stop();
      current = undefined;
      successor = undefined;
      provenAtMs = Number.NEGATIVE_INFINITY;
      sentAtMs.clear();
      // A beat waiting for its echo frees its slot: a restarted listener beats at once.
      unheard?.heard();
      unheard = undefined;
    },
    rollovers: () => rollovers,
    beats: () => ({ beats: sequence, echoes }),
  };
}
