// Publishes connection events to the Pub/Sub topic, in order per connection; @google-cloud/pubsub loads on the first publish.
import type * as pubsubModule from '@google-cloud/pubsub';
import type { PubSub, Topic } from '@google-cloud/pubsub';
import { lazy } from '../async/lazy.js';
import type { Config } from '../config/config.js';
import { BrokerError } from '../errors/broker-error.js';
import type { ConnectionEvent } from '../store/connection-events-outbox.js';
import { encodeConnectionEvent } from './connection-event-message.js';

export interface ConnectionEventPublisher {
  /**
   * Resolves with Pub/Sub's message id once Pub/Sub has acknowledged the event (it is then stored and will
   * be delivered); rejects with a retryable BrokerError `events_unavailable` otherwise, or `misconfigured`
   * when no topic is configured.
   */
  publish(event: ConnectionEvent): Promise<string>;
  /** Sends what is still batched and closes the client; a later publish opens a new one. */
  close(): Promise<void>;
}

type PubsubModule = typeof pubsubModule;

export interface ConnectionEventPublisherOptions {
  /** Loads the client library; the default is a dynamic import, so functions that never publish never load it. */
  readonly loadPubsub?: () => Promise<PubsubModule>;
}

// Small batches, sent soon: events are few, and a drain waits for each acknowledgement before marking it.
const batching = { maxMessages: 100, maxMilliseconds: 10 } as const;

const grpcStatusNames: Readonly<Record<number, string>> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

function projectOfTopic(topic: string): string {
  return topic.split('/')[1] as string;
}

/** Every failure is retryable from the outbox's point of view: the event waits there for the next drain. */
function publishFailure(error: unknown, topic: string): BrokerError {
  const code = (error as { code?: unknown } | null)?.code;
  const grpcCode = typeof code === 'number' ? code : null;
  const status = grpcCode === null ? 'unknown' : (grpcStatusNames[grpcCode] ?? String(grpcCode));
  return new BrokerError('events_unavailable', `Publishing a connection event to ${topic} failed (${status})`, {
    cause: error,
    details: { grpcCode, topic },
  });
}

export function createConnectionEventPublisher(
  settings: Config['events'],
  options: ConnectionEventPublisherOptions = {},
): ConnectionEventPublisher {
  const loadPubsub = options.loadPubsub ?? (() => import('@google-cloud/pubsub'));
  const openTopic = async (topicName: string): Promise<{ client: PubSub; topic: Topic }> => {
    const { PubSub } = await loadPubsub();
    const client = settings.emulatorHost
      ? new PubSub({
          projectId: projectOfTopic(topicName),
          apiEndpoint: settings.emulatorHost,
          // Insecure channel, no credentials: without these two the client would look for Application
          // Default Credentials and probe the GCE metadata server for a universe domain.
          emulatorMode: true,
          universeDomain: 'googleapis.com',
        })
      : new PubSub({ projectId: projectOfTopic(topicName) });
    const topic = client.topic(topicName, {
      messageOrdering: true,
      batching,
      // The whole publish, retries included, must end within this: the outbox keeps what did not make it.
      gaxOpts: { timeout: settings.publishTimeoutMs },
    });
    return { client, topic };
  };
  // Opened on the first publish; a failed opening is not kept, so the next publish tries again.
  const topicName = settings.topic;
  const opened = topicName === undefined ? undefined : lazy(() => openTopic(topicName));

  return {
    async publish(event) {
      if (opened === undefined || topicName === undefined) {
        throw new BrokerError('misconfigured', 'EVENTS_TOPIC is not set: connection events cannot be published', {
          details: { variables: ['EVENTS_TOPIC'] },
        });
      }
      const message = encodeConnectionEvent(event);
      let topic: Topic;
      try {
        ({ topic } = await opened());
      } catch (error) {
        throw publishFailure(error, topicName);
      }
      // After a failure the library holds back this key's later messages until told to resume: the caller has seen
      // the failure (and keeps the event), so the next attempt may go ahead.
      const resume = () => topic.resumePublishing(message.orderingKey);
      const publishing = topic.publishMessage({ data: message.data, attributes: { ...message.attributes }, orderingKey: message.orderingKey });
      let timer: NodeJS.Timeout | undefined;
      // The library's own timeout is checked only between its attempts, and an attempt waiting on a reconnecting
      // channel outlasts it: 1.4 to 6.5 s for a 1 s timeout against a closed port, longer as the channel's reconnect
      // backoff grows. A drain's claim on the event lasts the timeout plus a margin, so the bound is kept here. A
      // publish given up on may still land later: the event is then published twice, which consumers dedupe.
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${settings.publishTimeoutMs} ms`), { code: 4 })), settings.publishTimeoutMs);
      });
      try {
        return await Promise.race([publishing, expired]);
      } catch (error) {
        resume();
        // What the abandoned attempt ends with no longer has a caller.
        publishing.catch(resume);
        throw publishFailure(error, topicName);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      const current = opened?.take();
      if (current === undefined) return;
      const { client } = await current.catch(() => ({ client: undefined }));
      await client?.close();
    },
  };
}
