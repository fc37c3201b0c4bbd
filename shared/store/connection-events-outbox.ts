// The outbox of connection events: written in the same transaction as the status change it announces, so a
// change can never commit without its event (or the other way round); a publisher drains it to Pub/Sub.
//
// Draining (shared/usecases/events): a drain claims a batch of unpublished events in a transaction
// (claimHolder/claimExpiresAtMs), publishes them, and marks each one published only after Pub/Sub has
// acknowledged it. A drain never takes an event of a connection whose earlier event another drain holds,
// so one connection's events reach Pub/Sub in the order they occurred.
import { type DocumentReference, type Firestore, Timestamp } from '@google-cloud/firestore';
import type { AtomicWrites } from './atomic-writes.js';
import { z } from 'zod';
import type { Clock } from '../time/clock.js';
import type { IdSource } from '../time/ids.js';
import { collectionNames, ttlFields } from './collections.js';
import { connectionEventTypes, connectionStatuses } from './connection-status.js';
import { declareQuery } from './query-shape.js';

export const connectionEventSchema = z
  .object({
    eventId: z.string().min(1),
    type: z.enum(connectionEventTypes),
    tenantId: z.string(),
    userId: z.string().nullable(),
    provider: z.string(),
    connectionId: z.string(),
    fromStatus: z.enum(connectionStatuses).nullable(),
    toStatus: z.enum(connectionStatuses),
    /** A stable reason code (e.g. invalid_grant, provider_unavailable, user_reconnected); never a secret. */
    reason: z.string().max(200).nullable(),
    occurredAtMs: z.number().int(),
  })
  .strict();
export type ConnectionEvent = z.infer<typeof connectionEventSchema>;

/**
 * Every event, published or not, expires this long after it occurred (field `expireAt`): published ones stay
 * that long as a record of what was sent when; an event Pub/Sub could not take for that long is dropped.
 */
export const EVENT_OUTBOX_RETENTION_DAYS = 7;

export function recordConnectionEvent(
  firestore: Firestore,
  writes: AtomicWrites,
  event: Omit<ConnectionEvent, 'eventId' | 'occurredAtMs'>,
  dependencies: { clock: Clock; ids: IdSource },
): ConnectionEvent {
  const occurredAtMs = dependencies.clock.nowMs();
  const full = connectionEventSchema.parse({ ...event, eventId: dependencies.ids.newId(), occurredAtMs });
  writes.create(firestore.collection(collectionNames.connectionEvents).doc(full.eventId), {
    ...full,
    publishedAtMs: null,
    [ttlFields.connectionEvents]: Timestamp.fromMillis(occurredAtMs + EVENT_OUTBOX_RETENTION_DAYS * 24 * 3600 * 1000),
  });
  return full;
}

/** The outbox document: the event plus its delivery bookkeeping. */
const outboxDocumentSchema = connectionEventSchema
  .extend({
    publishedAtMs: z.number().int().nullable(),
    /** The drain that is publishing it right now; absent or null when none. */
    claimHolder: z.string().min(1).nullable().optional(),
    claimExpiresAtMs: z.number().int().nullable().optional(),
    expireAt: z.instanceof(Timestamp),
  })
  .strict();

const eventFieldNames = Object.keys(connectionEventSchema.shape) as (keyof ConnectionEvent)[];

function eventOf(document: z.infer<typeof outboxDocumentSchema>): ConnectionEvent {
  return Object.fromEntries(eventFieldNames.map((name) => [name, document[name]])) as ConnectionEvent;
}

function outboxRef(firestore: Firestore, eventId: string): DocumentReference {
  return firestore.collection(collectionNames.connectionEvents).doc(eventId);
}

export interface ClaimEventsOptions {
  /** Unique per drain. */
  readonly holder: string;
  readonly nowMs: number;
  /** How long the claim keeps other drains away: longer than a publish plus the write that marks it. */
  readonly claimTtlMs: number;
  /** How many unpublished events (oldest first) to look at. */
  readonly limit: number;
}

export interface ClaimedEvents {
  /** Claimed for this holder, oldest first. */
  readonly claimed: readonly ConnectionEvent[];
  /** Unpublished but held by another drain, or queued behind such an event of the same connection. */
  readonly skipped: number;
  /** Documents that fail the outbox schema: never published, reported by id. */
  readonly invalidIds: readonly string[];
  /** How many unpublished documents the query returned (claimed, skipped, invalid or gone since). */
  readonly scanned: number;
  /** When the oldest unpublished event occurred, or null when there was none. */
  readonly oldestOccurredAtMs: number | null;
}

export const unpublishedEventsOldestFirst = declareQuery({
  name: 'unpublishedEventsOldestFirst',
  collection: collectionNames.connectionEvents,
  filters: [{ field: 'publishedAtMs', operator: '==' }],
  orders: [{ field: 'occurredAtMs', direction: 'asc' }],
});

/**
 * Claims up to `limit` of the oldest unpublished events. The query runs outside the transaction (an empty
 * outbox costs one read and no transaction); the transaction re-reads exactly those documents, so two drains
 * that saw the same events serialize on them and only one claims each.
 */
export async function claimUnpublishedEvents(firestore: Firestore, options: ClaimEventsOptions): Promise<ClaimedEvents> {
  const snapshot = await unpublishedEventsOldestFirst.build(firestore, { publishedAtMs: null }).limit(options.limit).get();
  const oldest = snapshot.docs[0]?.get('occurredAtMs');
  const oldestOccurredAtMs = typeof oldest === 'number' ? oldest : null;
  if (snapshot.empty) return { claimed: [], skipped: 0, invalidIds: [], scanned: 0, oldestOccurredAtMs };

  const refs = snapshot.docs.map((document) => document.ref);
  const decided = await firestore.runTransaction(async (transaction) => {
    const current = await transaction.getAll(...refs);
    const claimed: ConnectionEvent[] = [];
    const invalidIds: string[] = [];
    // Connections with an earlier event held elsewhere: their later events must wait, or they would overtake it.
    const heldElsewhere = new Set<string>();
    let skipped = 0;
    const entries = current
      .filter((document) => document.exists)
      .map((document) => ({ id: document.id, ref: document.ref, parsed: outboxDocumentSchema.safeParse(document.data()) }));
    for (const entry of entries) {
      if (!entry.parsed.success) invalidIds.push(entry.id);
    }
    const valid = entries
      .flatMap((entry) => (entry.parsed.success ? [{ ref: entry.ref, document: entry.parsed.data }] : []))
      .sort((a, b) => a.document.occurredAtMs - b.document.occurredAtMs || a.ref.id.localeCompare(b.ref.id));
    for (const { ref, document } of valid) {
      if (document.publishedAtMs !== null) continue;
      const held = document.claimHolder != null && (document.claimExpiresAtMs ?? 0) > options.nowMs;
      if (held || heldElsewhere.has(document.connectionId)) {
        heldElsewhere.add(document.connectionId);
        skipped += 1;
        continue;
      }
      transaction.update(ref, { claimHolder: options.holder, claimExpiresAtMs: options.nowMs + options.claimTtlMs });
      claimed.push(eventOf(document));
    }
    return { claimed, skipped, invalidIds };
  });
  return { ...decided, scanned: snapshot.size, oldestOccurredAtMs };
}

/** Records that Pub/Sub acknowledged the event: call only after the acknowledgement. */
export async function markEventPublished(firestore: Firestore, eventId: string, publishedAtMs: number): Promise<void> {
  await outboxRef(firestore, eventId).update({ publishedAtMs, claimHolder: null, claimExpiresAtMs: null });
}

/** Gives events back to the next drain at once, where `holder` still holds them and they are still unpublished. */
export async function releaseEventClaims(firestore: Firestore, holder: string, eventIds: readonly string[]): Promise<void> {
  if (eventIds.length === 0) return;
  const refs = eventIds.map((eventId) => outboxRef(firestore, eventId));
  await firestore.runTransaction(async (transaction) => {
    const current = await transaction.getAll(...refs);
    for (const document of current) {
      if (document.exists && document.get('claimHolder') === holder && document.get('publishedAtMs') === null) {
        transaction.update(document.ref, { claimHolder: null, claimExpiresAtMs: null });
      }
    }
  });
}
