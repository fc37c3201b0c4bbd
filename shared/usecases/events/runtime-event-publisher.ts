// One connection-event publisher per broker runtime, created on first use; the runtime itself stays unaware of events.
import { lazyPerOwner } from '../../async/lazy.js';
import type { Config } from '../../config/config.js';
import { type ConnectionEventPublisher, createConnectionEventPublisher } from '../../events/connection-event-publisher.js';

/** What a publisher is built from: a BrokerRuntime qualifies. */
export interface PublisherOwner {
  readonly config: Config;
}

const publishers = lazyPerOwner((runtime: PublisherOwner) => createConnectionEventPublisher(runtime.config.events));

/** The runtime's publisher; creating it loads nothing (the client library loads on the first publish). */
export function eventPublisherOf(runtime: PublisherOwner): ConnectionEventPublisher {
  return publishers.of(runtime);
}

/** Flushes and closes the runtime's publisher, if it has one (at shutdown; a later drain opens a new client). */
export async function closeEventPublisherOf(runtime: PublisherOwner): Promise<void> {
  await publishers.existing(runtime)?.close();
}
