// Moves connection events from the Firestore outbox to Pub/Sub: oldest first, in bounded batches, within a deadline.
//
// Delivery is at least once; consumers dedupe by eventId. In normal operation each event is published once:
// a drain claims its batch in a transaction (other drains skip claimed events and everything after them on
// the same connection), marks an event published only after Pub/Sub acknowledged it, and gives failed ones
// back at once for the next drain. A duplicate needs an ambiguous outcome: Pub/Sub stored a message whose
// acknowledgement never arrived (timeout), a drain stopped by its deadline or killed while publishing (its
// claim expires and another drain publishes again), or the write that marks an event failed.
import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../../config/config.js';
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import type { Logger } from '../../log/logger.js';
import {
  claimUnpublishedEvents,
  type ConnectionEvent,
  markEventPublished,
  releaseEventClaims,
} from '../../store/connection-events-outbox.js';
import type { Clock } from '../../time/clock.js';
import type { IdSource } from '../../time/ids.js';
import { eventPublisherOf } from './runtime-event-publisher.js';

/** What a drain needs from the broker runtime: a BrokerRuntime qualifies. */
export interface EventDrainRuntime {
  readonly config: Config;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
  firestore(): Firestore;
}

export interface DrainOptions {
  /** At most this many outbox events are looked at in this drain. */
  readonly maxEvents: number;
  /** Epoch ms (on the runtime's clock) by which the drain returns; no batch starts after it. */
  readonly deadlineMs: number;
}

export interface DrainResult {
  /** Acknowledged by Pub/Sub (and marked, or logged when the mark failed). */
  readonly published: number;
  /** Publishing failed; they are back in the outbox for the next drain. */
  readonly failed: number;
  /** Held by another drain, or behind such an event of the same connection: that drain publishes them. */
  readonly skipped: number;
  /** Outbox documents that fail the event schema: never published, logged by id. */
  readonly invalid: number;
  /** Still being published at the deadline: marked if acknowledged later, else retried once their claim expires. */
  readonly unconfirmed: number;
  /** True when events may remain that this drain did not get to (batch limit, deadline or a failure). */
  readonly more: boolean;
  /** How long the oldest unpublished event had waited when the drain looked, or null when none waited. */
  readonly oldestWaitingMs: number | null;
}

/** Pub/Sub takes up to 1,000 messages per request; smaller claims keep a slow drain from holding many events. */
const MAX_BATCH = 100;
/** Added to the publish timeout for the claim: time to write the marks after the last acknowledgement. */
const CLAIM_MARGIN_MS = 30_000;

type Outcome = 'published' | 'failed' | 'pending';

function sleepUntil(clock: Clock, deadlineMs: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadlineMs - clock.nowMs()));
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

export async function drainConnectionEvents(runtime: EventDrainRuntime, options: DrainOptions): Promise<DrainResult> {
  if (!Number.isInteger(options.maxEvents) || options.maxEvents < 1) throw new TypeError('maxEvents must be a positive integer');
  if (!Number.isFinite(options.deadlineMs)) throw new TypeError('deadlineMs must be an epoch time in ms');
  const { clock, logger } = runtime;
  if (runtime.config.events.topic === undefined) {
    throw new BrokerError('misconfigured', 'EVENTS_TOPIC is not set: connection events cannot be published', {
      details: { variables: ['EVENTS_TOPIC'] },
    });
  }
  const firestore = runtime.firestore();
  const publisher = eventPublisherOf(runtime);
  const holder = `drain-${runtime.ids.newId()}`;
  const claimTtlMs = runtime.config.events.publishTimeoutMs + CLAIM_MARGIN_MS;
  const startedAt = clock.nowMs();
  const totals = { published: 0, failed: 0, skipped: 0, invalid: 0, unconfirmed: 0 };
  let more = false;
  let oldestWaitingMs: number | null = null;
  let looked = 0;

  while (looked < options.maxEvents) {
    if (clock.nowMs() >= options.deadlineMs) {
      more = true;
      break;
    }
    const limit = Math.min(MAX_BATCH, options.maxEvents - looked);
    const batch = await claimUnpublishedEvents(firestore, { holder, nowMs: clock.nowMs(), claimTtlMs, limit });
    if (oldestWaitingMs === null && batch.oldestOccurredAtMs !== null) oldestWaitingMs = Math.max(0, startedAt - batch.oldestOccurredAtMs);
    looked += batch.scanned;
    totals.skipped += batch.skipped;
    totals.invalid += batch.invalidIds.length;
    if (batch.invalidIds.length > 0) {
      logger.error('events.outbox_invalid', 'Outbox documents fail the event schema and are not published', {
        count: batch.invalidIds.length,
        eventIds: batch.invalidIds.slice(0, 20),
      });
    }
    if (batch.claimed.length === 0) {
      // Everything waiting is someone else's (or nothing waits): nothing for this drain to do.
      more = batch.skipped > 0;
      break;
    }
    const outcomes = await publishBatch(runtime, firestore, publisher, batch.claimed, options.deadlineMs);
    const failedIds = batch.claimed.filter((_, index) => outcomes[index] === 'failed').map((event) => event.eventId);
    totals.published += outcomes.filter((outcome) => outcome === 'published').length;
    totals.failed += failedIds.length;
    totals.unconfirmed += outcomes.filter((outcome) => outcome === 'pending').length;
    if (failedIds.length > 0) {
      await releaseEventClaims(firestore, holder, failedIds).catch((error: unknown) => {
        // The claims then simply expire: the events are retried a little later, not lost.
        logger.warn('events.release_failed', 'Could not give failed events back to the outbox early', { count: failedIds.length, error });
      });
    }
    if (failedIds.length > 0 || outcomes.includes('pending')) {
      // Pub/Sub is failing or slow: leave the rest for the next drain rather than pile on.
      more = true;
      break;
    }
    if (batch.scanned < limit) break;
    more = looked >= options.maxEvents;
  }

  const result: DrainResult = { ...totals, more, oldestWaitingMs };
  if (totals.published + totals.failed + totals.unconfirmed + totals.invalid > 0) {
    const fields = {
      published: totals.published,
      failed: totals.failed,
      unconfirmed: totals.unconfirmed,
      skipped: totals.skipped,
      remaining: more,
      durationMs: clock.nowMs() - startedAt,
      oldestWaitingMs,
    };
    const troubled = totals.failed + totals.unconfirmed + totals.invalid > 0;
    if (troubled) logger.warn('events.drained', 'Connection events drained from the outbox to Pub/Sub, with failures', fields);
    else logger.info('events.drained', 'Connection events drained from the outbox to Pub/Sub', fields);
  }
  return result;
}

/** Publishes a claimed batch and marks each event as its acknowledgement arrives; returns each event's outcome. */
async function publishBatch(
  runtime: EventDrainRuntime,
  firestore: Firestore,
  publisher: ReturnType<typeof eventPublisherOf>,
  events: readonly ConnectionEvent[],
  deadlineMs: number,
): Promise<Outcome[]> {
  const { clock, logger } = runtime;
  const outcomes: Outcome[] = events.map(() => 'pending');
  let firstFailure: unknown;
  // All at once: the publisher batches them and keeps each connection's (ordering key's) order.
  const work = events.map(async (event, index) => {
    try {
      await publisher.publish(event);
    } catch (error) {
      outcomes[index] = 'failed';
      firstFailure ??= error;
      return;
    }
    outcomes[index] = 'published';
    try {
      await markEventPublished(firestore, event.eventId, clock.nowMs());
    } catch (error) {
      // Published but still listed as unpublished: a later drain sends it again (consumers dedupe by eventId).
      logger.warn('events.mark_failed', 'A published event could not be marked; it will be published again', {
        connectionId: event.connectionId,
        error,
      });
    }
  });
  const deadline = sleepUntil(clock, deadlineMs);
  try {
    await Promise.race([Promise.all(work), deadline.promise]);
  } finally {
    deadline.cancel();
  }
  if (firstFailure !== undefined) {
    logger.warn('events.publish_failed', 'Publishing connection events failed; they stay in the outbox', {
      count: outcomes.filter((outcome) => outcome === 'failed').length,
      errorCode: isBrokerError(firstFailure) ? firstFailure.code : 'internal',
      error: firstFailure,
    });
  }
  return [...outcomes];
}
