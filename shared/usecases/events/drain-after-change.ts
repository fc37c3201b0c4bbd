// A short, bounded drain of the events outbox after a state change, so subscribers hear of it within the request that caused it.
//
// It never fails its caller: the change is committed with its event in the outbox, and whatever this drain does
// not publish, the next drain does (the sweeps end with one, and every state-changing function runs one).
import type { Logger } from '../../log/logger.js';
import { type DrainResult, drainConnectionEvents, type EventDrainRuntime } from './drain-connection-events.js';

export interface DrainAfterChangeOptions {
  /** At most this many events; 100 by default. */
  readonly maxEvents?: number;
  /** How long it may take; 3 s by default, so a slow Pub/Sub cannot hold a response for long. */
  readonly budgetMs?: number;
  /** The request's logger (with its trace); the runtime's otherwise. */
  readonly logger?: Logger;
}

/** Drains the outbox if this deployment publishes events; returns the drain's result, or undefined when it did not run or failed. */
export async function drainAfterChange(runtime: EventDrainRuntime, options: DrainAfterChangeOptions = {}): Promise<DrainResult | undefined> {
  if (runtime.config.events.topic === undefined) return undefined;
  const logger = options.logger ?? runtime.logger;
  try {
    return await drainConnectionEvents(runtime, {
      maxEvents: options.maxEvents ?? 100,
      deadlineMs: runtime.clock.nowMs() + (options.budgetMs ?? 3_000),
    });
  } catch (error) {
    logger.warn('events.drain_failed', 'Draining connection events after a change failed; the next drain publishes them', { error });
    return undefined;
  }
}
