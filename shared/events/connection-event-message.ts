// How a connection event looks on the Pub/Sub topic: a JSON body, filterable attributes, and the connection as ordering key.
import { redactSecrets } from '../log/redact.js';
import type { ConnectionEvent } from '../store/connection-events-outbox.js';

/** Attributes every message carries, so subscriptions can filter (e.g. `attributes.provider = "slack"`) without parsing. */
export const connectionEventAttributeNames = ['eventId', 'type', 'tenantId', 'provider', 'connectionId'] as const;
export type ConnectionEventAttributeName = (typeof connectionEventAttributeNames)[number];

export interface ConnectionEventMessage {
  readonly data: Buffer;
  readonly attributes: Readonly<Record<ConnectionEventAttributeName, string>>;
  /** One connection's events share a key, so an ordering subscription receives them in order. */
  readonly orderingKey: string;
}

export function encodeConnectionEvent(event: ConnectionEvent): ConnectionEventMessage {
  // Field by field, never a spread: whatever else an object carries at run time cannot ride along.
  const body: ConnectionEvent = {
    eventId: event.eventId,
    type: event.type,
    tenantId: event.tenantId,
    userId: event.userId,
    provider: event.provider,
    connectionId: event.connectionId,
    fromStatus: event.fromStatus,
    toStatus: event.toStatus,
    // A reason is a stable code; should a careless caller pass a provider's message instead, a token in it is masked.
    reason: event.reason === null ? null : redactSecrets(event.reason),
    occurredAtMs: event.occurredAtMs,
  };
  return {
    data: Buffer.from(JSON.stringify(body), 'utf8'),
    attributes: {
      eventId: event.eventId,
      type: event.type,
      tenantId: event.tenantId,
      provider: event.provider,
      connectionId: event.connectionId,
    },
    orderingKey: event.connectionId,
  };
}
