// The outbox of connection events: written in the same transaction as the status change it announces, so a
// change can never commit without its event (or the other way round); a publisher drains it to Pub/Sub.
import { type Firestore, Timestamp, type Transaction } from '@google-cloud/firestore';
import { z } from 'zod';
import type { Clock } from '../time/clock.js';
import type { IdSource } from '../time/ids.js';
import { collectionNames, ttlFields } from './collections.js';
import { connectionEventTypes, connectionStatuses } from './connection-status.js';

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

/** Published events are deleted; unpublished ones expire after this long (field `expireAt`). */
export const EVENT_OUTBOX_RETENTION_DAYS = 7;

export function recordConnectionEvent(
  firestore: Firestore,
  transaction: Transaction,
  event: Omit<ConnectionEvent, 'eventId' | 'occurredAtMs'>,
  dependencies: { clock: Clock; ids: IdSource },
): ConnectionEvent {
  const occurredAtMs = dependencies.clock.nowMs();
  const full = connectionEventSchema.parse({ ...event, eventId: dependencies.ids.newId(), occurredAtMs });
  transaction.create(firestore.collection(collectionNames.connectionEvents).doc(full.eventId), {
    ...full,
    publishedAtMs: null,
    [ttlFields.connectionEvents]: Timestamp.fromMillis(occurredAtMs + EVENT_OUTBOX_RETENTION_DAYS * 24 * 3600 * 1000),
  });
  return full;
}
