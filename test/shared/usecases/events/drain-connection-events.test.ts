// The outbox drain against the Firestore and Pub/Sub emulators: delivered in order, marked only once acknowledged, never lost, never doubled.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../../shared/config/config.js';
import { isBrokerError } from '../../../../shared/errors/broker-error.js';
import { createLogger } from '../../../../shared/log/logger.js';
import { redactSecrets } from '../../../../shared/log/redact.js';
import { collectionNames } from '../../../../shared/store/collections.js';
import {
  type ConnectionEvent,
  connectionEventSchema,
  recordConnectionEvent,
} from '../../../../shared/store/connection-events-outbox.js';
import { createBrokerRuntime } from '../../../../shared/usecases/broker-runtime.js';
import {
  type DrainResult,
  drainConnectionEvents,
  type EventDrainRuntime,
} from '../../../../shared/usecases/events/drain-connection-events.js';
import { closeEventPublisherOf } from '../../../../shared/usecases/events/runtime-event-publisher.js';
import { type Clock, ManualClock } from '../../../../shared/time/clock.js';
import { cryptoIdSource } from '../../../../shared/time/ids.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';
import { findFreePort } from '../../../../local/free-port.js';
import { ensureSubscription, ensureTopic, type PulledMessage, pullExactly } from '../../../../local/pubsub-emulator-admin.js';

const project = useFirestoreTestProject('event-drain');
let pubsubHost: string;
let topic: string;
const runtimes: EventDrainRuntime[] = [];
const logLines: string[] = [];
/** Every message any test pulled, for the secret scan at the end. */
const everyMessage: PulledMessage[] = [];

/** The moment events occur: a clock that moves 1 ms per event, so their order is unambiguous. */
const eventClock = new ManualClock(Date.now() - 60_000);

function drainRuntime(env: Record<string, string> = {}, clock: Clock = { nowMs: () => Date.now() }): EventDrainRuntime {
  const config = loadConfig({
    GOOGLE_CLOUD_PROJECT: project.projectId,
    FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'),
    EVENTS_TOPIC: topic,
    PUBSUB_EMULATOR_HOST: pubsubHost,
    ...env,
  });
  const runtime: EventDrainRuntime = {
    config,
    clock,
    ids: cryptoIdSource,
    logger: createLogger({ sink: (line) => logLines.push(line) }),
    firestore: () => project.firestore,
  };
  runtimes.push(runtime);
  return runtime;
}

async function recordEvents(inputs: readonly Partial<ConnectionEvent>[]): Promise<ConnectionEvent[]> {
  const recorded: ConnectionEvent[] = [];
  for (const input of inputs) {
    eventClock.advance(1);
    const event = await project.firestore.runTransaction(async (transaction) =>
      recordConnectionEvent(
        project.firestore,
        transaction,
        {
          type: 'connection.refresh_failed',
          tenantId: 'tenant-a',
          userId: 'user-1',
          provider: 'slack',
          connectionId: 'conn-1',
          fromStatus: 'active',
          toStatus: 'error',
          reason: 'provider_unavailable',
          ...input,
        },
        { clock: eventClock, ids: cryptoIdSource },
      ),
    );
    recorded.push(event);
  }
  return recorded;
}

/** `count` events spread round-robin over `connections` connections. */
function interleaved(count: number, connections: number): Partial<ConnectionEvent>[] {
  return Array.from({ length: count }, (_, i) => ({ connectionId: `conn-${i % connections}`, reason: `step_${i}` }));
}

let subscriptionCount = 0;
async function newSubscription(): Promise<string> {
  subscriptionCount += 1;
  const subscription = `projects/${project.projectId}/subscriptions/drain-${subscriptionCount}`;
  await ensureSubscription(pubsubHost, subscription, topic);
  return subscription;
}

async function received(subscription: string, count: number): Promise<PulledMessage[]> {
  const messages = await pullExactly(pubsubHost, subscription, count, { settleMs: 1_000 });
  everyMessage.push(...messages);
  return messages;
}

async function outboxDocuments(): Promise<Record<string, unknown>[]> {
  const snapshot = await project.firestore.collection(collectionNames.connectionEvents).get();
  return snapshot.docs.map((document) => ({ id: document.id, ...document.data() }));
}

function inFiveSeconds(runtime: EventDrainRuntime): { maxEvents: number; deadlineMs: number } {
  return { maxEvents: 500, deadlineMs: runtime.clock.nowMs() + 20_000 };
}

function expectSameOrderPerConnection(messages: readonly PulledMessage[], events: readonly ConnectionEvent[]): void {
  for (const connectionId of new Set(events.map((event) => event.connectionId))) {
    const sent = events.filter((event) => event.connectionId === connectionId).map((event) => event.eventId);
    const got = messages.filter((message) => message.orderingKey === connectionId).map((message) => message.attributes.eventId);
    expect(got, connectionId).toEqual(sent);
  }
}

const none: Omit<DrainResult, 'oldestWaitingMs'> = { published: 0, failed: 0, skipped: 0, invalid: 0, unconfirmed: 0, more: false };

beforeAll(async () => {
  pubsubHost = inject('pubsubEmulatorHost');
  topic = `projects/${project.projectId}/topics/connection-events`;
  await ensureTopic(pubsubHost, topic);
});

beforeEach(async () => {
  await project.clear();
});

afterAll(async () => {
  await Promise.all(runtimes.map((runtime) => closeEventPublisherOf(runtime)));
});

describe('drainConnectionEvents', () => {
  it('publishes every outbox event with its attributes and JSON body, in order per connection, and marks each one', async () => {
    const subscription = await newSubscription();
    const events = await recordEvents(interleaved(15, 3));
    const runtime = drainRuntime();

    const result = await drainConnectionEvents(runtime, inFiveSeconds(runtime));

    expect(result).toMatchObject({ ...none, published: 15 });
    expect(result.oldestWaitingMs).toBeGreaterThan(0);
    const messages = await received(subscription, 15);
    expect(messages).toHaveLength(15);
    expectSameOrderPerConnection(messages, events);
    for (const message of messages) {
      const event = events.find((candidate) => candidate.eventId === message.attributes.eventId);
      expect(connectionEventSchema.parse(JSON.parse(message.data))).toEqual(event);
      expect(message.attributes).toEqual({
        eventId: event?.eventId,
        type: 'connection.refresh_failed',
        tenantId: 'tenant-a',
        provider: 'slack',
        connectionId: event?.connectionId,
      });
    }
    const documents = await outboxDocuments();
    expect(documents.map((document) => document.publishedAtMs)).toEqual(Array(15).fill(expect.any(Number)));
    expect(documents.every((document) => document.claimHolder === null)).toBe(true);

    // Nothing is left, so a second drain sends nothing.
    expect(await drainConnectionEvents(runtime, inFiveSeconds(runtime))).toMatchObject(none);
    expect(await received(subscription, 0)).toEqual([]);
    const summary = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.event === 'events.drained');
    expect(summary).toMatchObject({ severity: 'INFO', published: 15, failed: 0, remaining: false });
  });

  it('works from a BrokerRuntime as the functions build it', async () => {
    const subscription = await newSubscription();
    const [event] = await recordEvents([{ type: 'connection.created', fromStatus: null, toStatus: 'active', reason: null }]);
    const runtime = createBrokerRuntime(
      loadConfig({
        GOOGLE_CLOUD_PROJECT: project.projectId,
        FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'),
        EVENTS_TOPIC: topic,
        PUBSUB_EMULATOR_HOST: pubsubHost,
      }),
      { logger: createLogger({ sink: () => undefined }) },
    );
    try {
      expect(await drainConnectionEvents(runtime, inFiveSeconds(runtime))).toMatchObject({ ...none, published: 1 });
    } finally {
      await closeEventPublisherOf(runtime);
      await runtime.firestore().terminate();
    }
    const [message] = await received(subscription, 1);
    expect(message?.attributes.eventId).toBe(event?.eventId);
  });

  it('stops at maxEvents, oldest first, and says more are waiting', async () => {
    const subscription = await newSubscription();
    const events = await recordEvents(interleaved(10, 2));
    const runtime = drainRuntime();

    const first = await drainConnectionEvents(runtime, { maxEvents: 4, deadlineMs: Date.now() + 20_000 });

    expect(first).toMatchObject({ ...none, published: 4, more: true });
    const firstMessages = await received(subscription, 4);
    expect(firstMessages.map((message) => message.attributes.eventId).sort()).toEqual(events.slice(0, 4).map((event) => event.eventId).sort());

    const second = await drainConnectionEvents(runtime, { maxEvents: 100, deadlineMs: Date.now() + 20_000 });
    expect(second).toMatchObject({ ...none, published: 6 });
    expectSameOrderPerConnection([...firstMessages, ...(await received(subscription, 6))], events);
  });

  it('leaves events unpublished when the topic does not exist, and a later drain publishes each exactly once', async () => {
    const subscription = await newSubscription();
    const events = await recordEvents(interleaved(6, 2));
    const broken = drainRuntime({ EVENTS_TOPIC: `projects/${project.projectId}/topics/no-such-topic` });

    const failed = await drainConnectionEvents(broken, inFiveSeconds(broken));

    expect(failed).toMatchObject({ ...none, failed: 6, more: true });
    const documents = await outboxDocuments();
    // Unpublished, and given back at once: no claim waits to expire.
    expect(documents.map((document) => [document.publishedAtMs, document.claimHolder])).toEqual(Array(6).fill([null, null]));
    const warning = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.event === 'events.publish_failed');
    expect(warning).toMatchObject({ severity: 'WARNING', errorCode: 'events_unavailable', count: 6 });

    const runtime = drainRuntime();
    expect(await drainConnectionEvents(runtime, inFiveSeconds(runtime))).toMatchObject({ ...none, published: 6 });
    const messages = await received(subscription, 6);
    expect(messages).toHaveLength(6);
    expectSameOrderPerConnection(messages, events);
  });

  it('leaves events unpublished when Pub/Sub does not answer, and a later drain publishes each exactly once', async () => {
    const subscription = await newSubscription();
    const events = await recordEvents(interleaved(4, 2));
    const unreachable = drainRuntime({ PUBSUB_EMULATOR_HOST: `127.0.0.1:${await findFreePort()}`, EVENTS_PUBLISH_TIMEOUT_SECONDS: '1' });

    const failed = await drainConnectionEvents(unreachable, inFiveSeconds(unreachable));

    expect(failed).toMatchObject({ ...none, failed: 4, more: true });
    expect((await outboxDocuments()).every((document) => document.publishedAtMs === null)).toBe(true);

    const runtime = drainRuntime();
    expect(await drainConnectionEvents(runtime, inFiveSeconds(runtime))).toMatchObject({ ...none, published: 4 });
    const messages = await received(subscription, 4);
    expect(messages).toHaveLength(4);
    expectSameOrderPerConnection(messages, events);
  });

  it('returns at its deadline while a publish hangs; the events wait for their claim to expire, then go out once', async () => {
    const subscription = await newSubscription();
    await recordEvents(interleaved(3, 1));
    const hanging = drainRuntime({ PUBSUB_EMULATOR_HOST: `127.0.0.1:${await findFreePort()}`, EVENTS_PUBLISH_TIMEOUT_SECONDS: '5' });
    const startedAt = performance.now();

    const cut = await drainConnectionEvents(hanging, { maxEvents: 10, deadlineMs: Date.now() + 1_000 });

    expect(performance.now() - startedAt).toBeLessThan(4_000);
    expect(cut).toMatchObject({ ...none, unconfirmed: 3, more: true });
    expect((await outboxDocuments()).every((document) => document.publishedAtMs === null)).toBe(true);
    // While the claim lasts, another drain leaves them alone (their fate is unknown to it).
    const meanwhile = drainRuntime();
    expect(await drainConnectionEvents(meanwhile, inFiveSeconds(meanwhile))).toMatchObject({ ...none, skipped: 3, more: true });

    // Claim: publish timeout (5 s) plus a 30 s margin. A drain whose clock is past that takes over.
    const later = drainRuntime({}, { nowMs: () => Date.now() + 36_000 });
    expect(await drainConnectionEvents(later, inFiveSeconds(later))).toMatchObject({ ...none, published: 3 });
    expect(await received(subscription, 3)).toHaveLength(3);
  });

  it('two drains running at once publish every event exactly once, in order per connection', async () => {
    const subscription = await newSubscription();
    const events = await recordEvents(interleaved(20, 4));
    // Two runtimes: two instances, each with its own Pub/Sub client.
    const [a, b] = [drainRuntime(), drainRuntime()] as const;

    const results = await Promise.all([drainConnectionEvents(a, inFiveSeconds(a)), drainConnectionEvents(b, inFiveSeconds(b))]);

    expect(results.reduce((sum, result) => sum + result.published, 0)).toBe(20);
    expect(results.every((result) => result.failed === 0 && result.unconfirmed === 0)).toBe(true);
    const messages = await received(subscription, 20);
    expect(messages).toHaveLength(20);
    expect(new Set(messages.map((message) => message.attributes.eventId)).size).toBe(20);
    expectSameOrderPerConnection(messages, events);
  });

  it('never publishes an outbox document that breaks the event schema, and still publishes the rest', async () => {
    const subscription = await newSubscription();
    const [valid] = await recordEvents([{ connectionId: 'conn-valid' }]);
    const planted = `xoxe-1-${randomBytes(30).toString('base64url')}`;
    const [tampered] = await recordEvents([{ connectionId: 'conn-tampered' }]);
    await project.firestore.collection(collectionNames.connectionEvents).doc(tampered?.eventId ?? '').update({ refreshToken: planted });
    const runtime = drainRuntime();

    const result = await drainConnectionEvents(runtime, inFiveSeconds(runtime));

    expect(result).toMatchObject({ ...none, published: 1, invalid: 1 });
    const messages = await received(subscription, 1);
    expect(messages.map((message) => message.attributes.eventId)).toEqual([valid?.eventId]);
    const report = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.event === 'events.outbox_invalid');
    expect(report).toMatchObject({ severity: 'ERROR', eventIds: [tampered?.eventId] });
    expect(logLines.join('\n')).not.toContain(planted);
  });

  it('masks a token put into a reason, and no published message carries anything secret-looking', async () => {
    const subscription = await newSubscription();
    const leakedToken = `xoxb-1234567890-0987654321-${randomBytes(12).toString('hex')}`;
    await recordEvents([
      { type: 'connection.needs_reauth', toStatus: 'needs_reauth', reason: `invalid_grant: ${leakedToken}` },
      { type: 'connection.revoked', toStatus: 'revoked', reason: 'user_revoked' },
      { type: 'connection.health_changed', reason: 'identity_check_failed' },
    ]);
    const runtime = drainRuntime();

    expect(await drainConnectionEvents(runtime, inFiveSeconds(runtime))).toMatchObject({ ...none, published: 3 });
    await received(subscription, 3);

    // Everything this file published, from every test.
    expect(everyMessage.length).toBeGreaterThanOrEqual(50);
    for (const message of everyMessage) {
      for (const text of [message.data, ...Object.values(message.attributes)]) {
        expect(redactSecrets(text), text).toBe(text);
        expect(text).not.toContain(leakedToken);
      }
    }
    expect(everyMessage.some((message) => message.data.includes('invalid_grant: [redacted]'))).toBe(true);
  });

  it('refuses to run without EVENTS_TOPIC, and rejects nonsense limits as caller mistakes', async () => {
    const runtime = drainRuntime({ EVENTS_TOPIC: '' });
    const error = await drainConnectionEvents(runtime, inFiveSeconds(runtime)).catch((caught: unknown) => caught);
    expect(isBrokerError(error, 'misconfigured')).toBe(true);

    const configured = drainRuntime();
    await expect(drainConnectionEvents(configured, { maxEvents: 0, deadlineMs: Date.now() + 1_000 })).rejects.toThrow(TypeError);
    await expect(drainConnectionEvents(configured, { maxEvents: 10, deadlineMs: Number.NaN })).rejects.toThrow(TypeError);
  });
});
