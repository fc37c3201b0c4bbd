// The publisher against the real Pub/Sub emulator: acknowledged publishes, order per connection, typed failures, no credential lookups.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../shared/config/config.js';
import { type BrokerError, isBrokerError } from '../../../shared/errors/broker-error.js';
import { type ConnectionEventPublisher, createConnectionEventPublisher } from '../../../shared/events/connection-event-publisher.js';
import type { ConnectionEvent } from '../../../shared/store/connection-events-outbox.js';
import { testProjectId } from '../../support/firestore-test-project.js';
import { findFreePort } from '../../../local/free-port.js';
import { ensureSubscription, ensureTopic, pullExactly } from '../../../local/pubsub-emulator-admin.js';
import { connectionEvent, expectedMessageOf } from './connection-event-fixtures.js';

const projectId = testProjectId('event-publisher');
const topic = `projects/${projectId}/topics/connection-events`;
let host: string;
const publishers: ConnectionEventPublisher[] = [];

function publisherFor(env: Record<string, string>): ConnectionEventPublisher {
  const config = loadConfig({ GOOGLE_CLOUD_PROJECT: projectId, EVENTS_TOPIC: topic, PUBSUB_EMULATOR_HOST: host, ...env });
  const publisher = createConnectionEventPublisher(config.events);
  publishers.push(publisher);
  return publisher;
}

async function subscribe(name: string, topicName = topic): Promise<string> {
  const subscription = `projects/${projectId}/subscriptions/${name}`;
  await ensureSubscription(host, subscription, topicName);
  return subscription;
}

async function publishFailure(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isBrokerError(error)) throw new Error(`expected a BrokerError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  host = inject('pubsubEmulatorHost');
  await ensureTopic(host, topic);
});

afterAll(async () => {
  await Promise.all(publishers.map((publisher) => publisher.close()));
});

describe('createConnectionEventPublisher on the emulator', () => {
  it('publishes an event a subscriber receives with its JSON body, attributes and ordering key', async () => {
    const subscription = await subscribe('body-and-attributes');
    const event = connectionEvent();

    const messageId = await publisherFor({}).publish(event);

    const [message, ...extra] = await pullExactly(host, subscription, 1);
    expect(extra).toEqual([]);
    const expected = expectedMessageOf(event);
    expect(message?.messageId).toBe(messageId);
    expect(JSON.parse(message?.data ?? '')).toEqual(expected.body);
    expect(message?.attributes).toEqual(expected.attributes);
    expect(message?.orderingKey).toBe(expected.orderingKey);
  });

  it("delivers each connection's events in publish order to an ordering subscription", async () => {
    const subscription = await subscribe('ordering');
    const publisher = publisherFor({});
    const connections = ['conn-order-a', 'conn-order-b', 'conn-order-c'];
    const events: ConnectionEvent[] = [];
    for (let i = 0; i < 30; i += 1) {
      events.push(connectionEvent({ connectionId: connections[i % 3] as string, occurredAtMs: 1_000 + i, reason: `step_${i}` }));
    }

    // All at once, as a drain does: the client must keep each key's order across its batches.
    await Promise.all(events.map((event) => publisher.publish(event)));

    const received = await pullExactly(host, subscription, events.length);
    expect(received).toHaveLength(events.length);
    for (const connectionId of connections) {
      const sent = events.filter((event) => event.connectionId === connectionId).map((event) => event.eventId);
      const got = received.filter((message) => message.orderingKey === connectionId).map((message) => message.attributes.eventId);
      expect(got).toEqual(sent);
    }
  });

  it('fails with a retryable events_unavailable on a missing topic, and publishes the same key once it exists', async () => {
    const missing = `projects/${projectId}/topics/created-later`;
    const publisher = publisherFor({ EVENTS_TOPIC: missing });
    const first = connectionEvent({ connectionId: 'conn-resume' });

    const error = await publishFailure(publisher.publish(first));

    expect(error.code).toBe('events_unavailable');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ grpcCode: 5, topic: missing });
    expect(error.message).toContain('NOT_FOUND');

    await ensureTopic(host, missing);
    const subscription = await subscribe('created-later', missing);
    const second = connectionEvent({ connectionId: 'conn-resume' });
    await publisher.publish(second);
    const [message] = await pullExactly(host, subscription, 1);
    expect(message?.attributes.eventId).toBe(second.eventId);
  });

  it('gives up within the publish timeout when nothing answers, with events_unavailable, attempt after attempt', async () => {
    const deadHost = `127.0.0.1:${await findFreePort()}`;
    const publisher = publisherFor({ PUBSUB_EMULATOR_HOST: deadHost, EVENTS_PUBLISH_TIMEOUT_SECONDS: '1' });
    // Load the client library first, so the measured time is the publish attempt, not a cold import.
    await import('@google-cloud/pubsub');
    // Left to the client library, an attempt outlasted the 1 s timeout by up to 5.5 s, more as the channel's
    // reconnect backoff grew from one publish to the next: 2 s of slack each is for a busy machine, not for that.
    const tookMs: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const startedAt = performance.now();
      const error = await publishFailure(publisher.publish(connectionEvent()));
      tookMs.push(Math.round(performance.now() - startedAt));
      expect(error.code).toBe('events_unavailable');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('DEADLINE_EXCEEDED');
    }
    expect(tookMs.filter((ms) => ms > 3_000), `attempts took ${tookMs.join(', ')} ms`).toEqual([]);
  });

  it('refuses to publish without a topic: misconfigured, naming EVENTS_TOPIC', async () => {
    const publisher = createConnectionEventPublisher(loadConfig({ GOOGLE_CLOUD_PROJECT: projectId }).events);

    const error = await publishFailure(publisher.publish(connectionEvent()));

    expect(error.code).toBe('misconfigured');
    expect(error.details).toEqual({ variables: ['EVENTS_TOPIC'] });
  });
});

describe('loading and credentials', () => {
  it('loads the client library on the first publish only, and retries a failed load', async () => {
    const config = loadConfig({ GOOGLE_CLOUD_PROJECT: projectId, EVENTS_TOPIC: topic, PUBSUB_EMULATOR_HOST: host });
    let loads = 0;
    const publisher = createConnectionEventPublisher(config.events, {
      loadPubsub: async () => {
        loads += 1;
        if (loads === 1) throw new Error('module failed to load');
        return import('@google-cloud/pubsub');
      },
    });
    publishers.push(publisher);
    expect(loads).toBe(0);

    const error = await publishFailure(publisher.publish(connectionEvent()));
    expect(error.code).toBe('events_unavailable');

    await expect(publisher.publish(connectionEvent())).resolves.toMatch(/^\d+$/);
    expect(loads).toBe(2);
  });

  it('in emulator mode looks up no credentials and never calls a metadata server', async () => {
    const requests: string[] = [];
    const metadata = createServer((request, response) => {
      requests.push(request.url ?? '');
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
    const emptyHome = await mkdtemp(join(tmpdir(), 'publisher-home-'));
    const names = ['GCE_METADATA_HOST', 'METADATA_SERVER_DETECTION', 'GOOGLE_APPLICATION_CREDENTIALS', 'HOME', 'CLOUDSDK_CONFIG'];
    const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
    // Application Default Credentials would find no key file and no gcloud login here, and fall through to
    // the metadata server, which this test plays and counts.
    process.env.GCE_METADATA_HOST = `127.0.0.1:${(metadata.address() as AddressInfo).port}`;
    delete process.env.METADATA_SERVER_DETECTION;
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.HOME = emptyHome;
    process.env.CLOUDSDK_CONFIG = join(emptyHome, 'gcloud');
    try {
      const subscription = await subscribe('no-credentials');
      const event = connectionEvent();
      await publisherFor({}).publish(event);
      const [message] = await pullExactly(host, subscription, 1);
      expect(message?.attributes.eventId).toBe(event.eventId);
      expect(requests).toEqual([]);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await new Promise((resolve) => metadata.close(resolve));
      await rm(emptyHome, { recursive: true, force: true });
    }
  });
});
