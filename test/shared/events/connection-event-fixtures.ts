// Connection events for the events tests: valid by the outbox schema, with ids and times the test controls.
import { randomUUID } from 'node:crypto';
import { type ConnectionEvent, connectionEventSchema } from '../../../shared/store/connection-events-outbox.js';

export function connectionEvent(overrides: Partial<ConnectionEvent> = {}): ConnectionEvent {
  return connectionEventSchema.parse({
    eventId: randomUUID(),
    type: 'connection.needs_reauth',
    tenantId: 'tenant-a',
    userId: 'user-1',
    provider: 'slack',
    connectionId: `conn-${randomUUID()}`,
    fromStatus: 'active',
    toStatus: 'needs_reauth',
    reason: 'invalid_grant',
    occurredAtMs: Date.UTC(2030, 0, 1),
    ...overrides,
  });
}

/** The attributes, body and ordering key a subscriber must see for `event`. */
export function expectedMessageOf(event: ConnectionEvent): { attributes: Record<string, string>; body: ConnectionEvent; orderingKey: string } {
  return {
    attributes: {
      eventId: event.eventId,
      type: event.type,
      tenantId: event.tenantId,
      provider: event.provider,
      connectionId: event.connectionId,
    },
    body: event,
    orderingKey: event.connectionId,
  };
}
