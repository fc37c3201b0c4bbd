// The wire shape of a connection event: exactly the schema's fields as JSON, filterable attributes, the connection as ordering key.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeConnectionEvent } from '../../../shared/events/connection-event-message.js';
import { connectionEventSchema } from '../../../shared/store/connection-events-outbox.js';
import { connectionEvent, expectedMessageOf } from './connection-event-fixtures.js';

describe('encodeConnectionEvent', () => {
  it('sends the event as JSON that parses back by the outbox schema, with attributes and ordering key', () => {
    const event = connectionEvent();

    const message = encodeConnectionEvent(event);

    const expected = expectedMessageOf(event);
    expect(connectionEventSchema.parse(JSON.parse(message.data.toString('utf8')))).toEqual(expected.body);
    expect(message.attributes).toEqual(expected.attributes);
    expect(message.orderingKey).toBe(expected.orderingKey);
  });

  it('carries nothing but the schema fields, even when the object holds more at run time', () => {
    const leaky = { ...connectionEvent(), refreshToken: 'xoxe-1-secret-refresh-token-value' };

    const text = encodeConnectionEvent(leaky).data.toString('utf8');

    expect(text).not.toContain('refreshToken');
    expect(text).not.toContain('xoxe-1-secret');
    expect(Object.keys(JSON.parse(text)).sort()).toEqual(Object.keys(connectionEventSchema.shape).sort());
  });

  it('masks a token that a careless caller put in the reason', () => {
    const event = connectionEvent({ reason: `provider said: token xoxb-${randomBytes(6).toString('hex')}-${randomBytes(9).toString('base64url')} is revoked` });

    const body = JSON.parse(encodeConnectionEvent(event).data.toString('utf8')) as { reason: string };

    expect(body.reason).toBe('provider said: token [redacted] is revoked');
  });

  it('masks the whole token when its random part holds the URL-safe characters _ and -', () => {
    const event = connectionEvent({ reason: 'provider said: token xoxb-1234-5678-aB_c-D_eF9 is revoked' });

    const body = JSON.parse(encodeConnectionEvent(event).data.toString('utf8')) as { reason: string };

    expect(body.reason).toBe('provider said: token [redacted] is revoked');
  });
});
