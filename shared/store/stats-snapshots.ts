// Sweep history: one small document per refresh or health sweep run (its outcome counts and the connections by status
// when it ended), kept for a TTL, so the dashboard can draw status and refresh outcomes over time. Never a secret.
import { type Firestore, Timestamp } from '@google-cloud/firestore';
import { z } from 'zod';
import type { IdSource } from '../time/ids.js';
import { collectionNames, ttlFields } from './collections.js';
import { connectionStatuses } from './connection-status.js';
import { firestoreFailure } from './firestore-failure.js';
import { declareQuery } from './query-shape.js';

/** How long snapshots live before Firestore's TTL policy (field `expireAt`) removes them: the longest history the API serves. */
export const STATS_SNAPSHOT_RETENTION_DAYS = 30;

/** How a run ended, as its summary log line says. */
export const sweepRunOutcomes = ['complete', 'budget_exhausted', 'query_failed'] as const;

const countSchema = z.number().int().nonnegative();

/** Reason codes are stable snake_case codes; anything else (a provider's free text) is stored as `other`. */
const reasonCodePattern = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_REASONS = 20;
const reasonCountsSchema = z.record(z.string().regex(reasonCodePattern), countSchema);

export const connectionsByStatusSchema = z.record(z.enum(connectionStatuses), countSchema);

export const refreshRunCountsSchema = z
  .object({ refreshed: countSchema, failed: countSchema, skipped: countSchema, remaining: countSchema, failedByReason: reasonCountsSchema })
  .strict();

export const healthRunCountsSchema = z
  .object({
    checked: countSchema,
    healthy: countSchema,
    unhealthy: countSchema,
    needsReauth: countSchema,
    skipped: countSchema,
    /** Checks that could not run. */
    failed: countSchema,
    /** Grants refreshed because the provider rejected the stored token. */
    refreshed: countSchema,
    remaining: countSchema,
    unhealthyByReason: reasonCountsSchema,
    failedByReason: reasonCountsSchema,
  })
  .strict();

const snapshotBase = {
  /** When the run ended (its counts by status are from then). */
  atMs: z.number().int().nonnegative(),
  durationMs: countSchema,
  outcome: z.enum(sweepRunOutcomes),
  byStatus: connectionsByStatusSchema,
};

export const statsSnapshotSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('refresh'), ...snapshotBase, run: refreshRunCountsSchema }).strict(),
  z.object({ kind: z.literal('health'), ...snapshotBase, run: healthRunCountsSchema }).strict(),
]);
export type StatsSnapshot = z.infer<typeof statsSnapshotSchema>;

/** Keeps a reason map small and code-shaped: unknown shapes fold into `other`, the rarest beyond the cap too. */
export function boundedReasonCounts(counts: Readonly<Record<string, number>>): Record<string, number> {
  const folded: Record<string, number> = {};
  for (const [reason, count] of Object.entries(counts)) {
    if (!(count > 0)) continue;
    const key = reasonCodePattern.test(reason) ? reason : 'other';
    folded[key] = (folded[key] ?? 0) + count;
  }
  const ranked = Object.entries(folded).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const kept = Object.fromEntries(ranked.slice(0, MAX_REASONS - 1));
  const rest = ranked.slice(MAX_REASONS - 1).reduce((sum, [, count]) => sum + count, 0);
  if (rest > 0) kept.other = (kept.other ?? 0) + rest;
  return kept;
}

export async function writeStatsSnapshot(firestore: Firestore, snapshot: StatsSnapshot, ids: IdSource): Promise<void> {
  const parsed = statsSnapshotSchema.parse(snapshot);
  const expireAt = Timestamp.fromMillis(parsed.atMs + STATS_SNAPSHOT_RETENTION_DAYS * 24 * 3600 * 1000);
  await firestore
    .collection(collectionNames.statsSnapshots)
    .doc(ids.newId())
    .create({ ...parsed, [ttlFields.statsSnapshots]: expireAt });
}

export interface StatsSnapshotPage {
  /** Oldest first. */
  readonly snapshots: readonly StatsSnapshot[];
  /** More snapshots fell in the window than `limit`: the oldest were left out. */
  readonly truncated: boolean;
  /** Documents that did not parse (left out rather than failing the whole history). */
  readonly unreadable: number;
}

export const statsSnapshotsNewestFirst = declareQuery({
  name: 'statsSnapshotsNewestFirst',
  collection: collectionNames.statsSnapshots,
  filters: [{ field: 'atMs', operator: '>=' }],
  orders: [{ field: 'atMs', direction: 'desc' }],
});

/** Snapshots taken at or after `sinceMs`, the newest `limit` of them (a single-field range on atMs: no composite index). */
export async function readStatsSnapshots(firestore: Firestore, sinceMs: number, limit: number): Promise<StatsSnapshotPage> {
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer');
  let docs;
  try {
    ({ docs } = await statsSnapshotsNewestFirst.build(firestore, { atMs: sinceMs }).limit(limit + 1).get());
  } catch (error) {
    throw firestoreFailure(error);
  }
  const snapshots: StatsSnapshot[] = [];
  let unreadable = 0;
  for (const doc of docs.slice(0, limit)) {
    const { [ttlFields.statsSnapshots]: _expireAt, ...rest } = doc.data();
    const parsed = statsSnapshotSchema.safeParse(rest);
    if (parsed.success) snapshots.push(parsed.data);
    else unreadable += 1;
  }
  return { snapshots: snapshots.reverse(), truncated: docs.length > limit, unreadable };
}
