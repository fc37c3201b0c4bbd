// Topics, subscriptions and pulls on the Pub/Sub emulator over its REST API: what tests and `npm start` need to watch events.
// Deliberately not @google-cloud/pubsub, so tests check what the broker's publisher sent through a second, independent path.
import { z } from 'zod';

const receivedMessageSchema = z.object({
  ackId: z.string(),
  message: z.object({
    data: z.string().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    messageId: z.string(),
    publishTime: z.string().optional(),
    orderingKey: z.string().optional(),
  }),
});
const pullResponseSchema = z.object({ receivedMessages: z.array(receivedMessageSchema).optional() });

export interface PulledMessage {
  readonly messageId: string;
  /** The message body decoded as UTF-8. */
  readonly data: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly orderingKey: string | undefined;
}

async function call(host: string, method: 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
  const response = await fetch(`http://${host}/v1/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(30_000)]) : AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`Pub/Sub emulator ${method} /v1/${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return text === '' ? {} : JSON.parse(text);
}

function isAlreadyExists(error: unknown): boolean {
  return error instanceof Error && /HTTP 409/.test(error.message);
}

/** Creates `projects/P/topics/T`; an existing topic is fine. */
export async function ensureTopic(host: string, topic: string): Promise<void> {
  await call(host, 'PUT', topic, {}).catch((error: unknown) => {
    if (!isAlreadyExists(error)) throw error;
  });
}

/** Creates a pull subscription with message ordering on, as a product subscribing to connection events should. */
export async function ensureSubscription(host: string, subscription: string, topic: string): Promise<void> {
  await call(host, 'PUT', subscription, { topic, enableMessageOrdering: true, ackDeadlineSeconds: 30 }).catch((error: unknown) => {
    if (!isAlreadyExists(error)) throw error;
  });
}

/** One pull, acknowledging what it got, so the same messages do not come back. */
export async function pullAndAcknowledge(host: string, subscription: string, options: { maxMessages?: number; signal?: AbortSignal } = {}): Promise<PulledMessage[]> {
  const raw = await call(host, 'POST', `${subscription}:pull`, { maxMessages: options.maxMessages ?? 100, returnImmediately: true }, options.signal);
  const received = pullResponseSchema.parse(raw).receivedMessages ?? [];
  if (received.length > 0) {
    await call(host, 'POST', `${subscription}:acknowledge`, { ackIds: received.map((entry) => entry.ackId) }, options.signal);
  }
  return received.map(({ message }) => ({
    messageId: message.messageId,
    data: Buffer.from(message.data ?? '', 'base64').toString('utf8'),
    attributes: message.attributes ?? {},
    orderingKey: message.orderingKey || undefined,
  }));
}

/**
 * Pulls until `count` messages arrived, then keeps pulling for `settleMs` to catch any extra (a duplicate
 * would show up there); fails after `timeoutMs` with what it has.
 */
export async function pullExactly(
  host: string,
  subscription: string,
  count: number,
  options: { timeoutMs?: number; settleMs?: number } = {},
): Promise<PulledMessage[]> {
  const messages: PulledMessage[] = [];
  const deadline = performance.now() + (options.timeoutMs ?? 20_000);
  while (messages.length < count) {
    if (performance.now() > deadline) {
      throw new Error(`Expected ${count} messages on ${subscription}, got ${messages.length} before the timeout`);
    }
    const batch = await pullAndAcknowledge(host, subscription);
    messages.push(...batch);
    if (batch.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const settleUntil = performance.now() + (options.settleMs ?? 500);
  while (performance.now() < settleUntil) {
    messages.push(...(await pullAndAcknowledge(host, subscription)));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return messages;
}
