// Connection events on the local stack: the topic, a timer that drains the outbox to it, and a console printer subscribed to it.
import { loadConfig } from '../shared/config/config.js';
import { createLogger, type LogSink } from '../shared/log/logger.js';
import { connectionEventSchema } from '../shared/store/connection-events-outbox.js';
import { createBrokerRuntime } from '../shared/usecases/broker-runtime.js';
import { drainConnectionEvents } from '../shared/usecases/events/drain-connection-events.js';
import { closeEventPublisherOf } from '../shared/usecases/events/runtime-event-publisher.js';
import { ensureSubscription, ensureTopic, type PulledMessage, pullAndAcknowledge } from './pubsub-emulator-admin.js';

export interface LocalEventsOptions {
  /** The functions' environment (loadConfig's input): it names the Firestore emulator, the Pub/Sub emulator and EVENTS_TOPIC. */
  readonly functionEnv: Readonly<Record<string, string>>;
  /** How often the outbox is drained; the deployed broker drains after state changes and in the sweeps. */
  readonly drainIntervalMs: number;
  /** Where each event is printed, one line per event. */
  readonly print: (line: string) => void;
  /** Where the drain's warnings go (a stopped emulator, say); stderr by default. */
  readonly logSink?: LogSink;
  /** How often the printer pulls. Default 500 ms. */
  readonly pullIntervalMs?: number;
}

export interface LocalEvents {
  readonly topic: string;
  readonly subscription: string;
  stop(): Promise<void>;
}

/** One readable line per event: what happened, to which connection, and why. */
export function formatEventLine(message: Pick<PulledMessage, 'data'>): string {
  const parsed = connectionEventSchema.safeParse(JSON.parse(message.data));
  if (!parsed.success) return `event (unreadable) ${message.data.slice(0, 200)}`;
  const event = parsed.data;
  const move = `${event.fromStatus ?? 'new'} → ${event.toStatus}`;
  const who = `tenant ${event.tenantId}${event.userId === null ? '' : `, user ${event.userId}`}`;
  const time = new Date(event.occurredAtMs).toISOString().slice(11, 19);
  return `event ${time} ${event.type} ${event.provider} ${event.connectionId} (${who}): ${move}${event.reason === null ? '' : ` (${event.reason})`}`;
}

export async function startLocalEvents(options: LocalEventsOptions): Promise<LocalEvents> {
  const config = loadConfig(options.functionEnv);
  const { topic, emulatorHost } = config.events;
  if (topic === undefined || emulatorHost === undefined) {
    throw new TypeError('startLocalEvents needs EVENTS_TOPIC and PUBSUB_EMULATOR_HOST in functionEnv');
  }
  const subscription = `projects/${config.projectId}/subscriptions/console-printer`;
  await ensureTopic(emulatorHost, topic);
  await ensureSubscription(emulatorHost, subscription, topic);

  const sink = options.logSink ?? ((line: string) => process.stderr.write(`${line}\n`));
  const runtime = createBrokerRuntime(config, { logger: createLogger({ sink, minSeverity: 'WARNING' }) });
  const stopped = new AbortController();
  let draining: Promise<unknown> = Promise.resolve();
  let printing: Promise<unknown> = Promise.resolve();

  // Timers that never overlap themselves: the next round is scheduled when the previous one ends.
  const every = (intervalMs: number, round: () => Promise<unknown>, track: (running: Promise<unknown>) => void): void => {
    const tick = () => {
      if (stopped.signal.aborted) return;
      const running = round().catch(() => undefined);
      track(running);
      void running.then(() => {
        if (!stopped.signal.aborted) setTimeout(tick, intervalMs).unref();
      });
    };
    setTimeout(tick, intervalMs).unref();
  };

  every(
    options.drainIntervalMs,
    () => drainConnectionEvents(runtime, { maxEvents: 500, deadlineMs: runtime.clock.nowMs() + Math.max(options.drainIntervalMs, 5_000) }),
    (running) => (draining = running),
  );
  every(
    options.pullIntervalMs ?? 500,
    async () => {
      const messages = await pullAndAcknowledge(emulatorHost, subscription, { signal: stopped.signal });
      for (const message of messages) options.print(formatEventLine(message));
    },
    (running) => (printing = running),
  );

  return {
    topic,
    subscription,
    stop: async () => {
      if (stopped.signal.aborted) return;
      stopped.abort();
      await Promise.all([draining, printing]);
      await closeEventPublisherOf(runtime).catch(() => undefined);
      await runtime.firestore().terminate();
    },
  };
}

/** EVENTS_DRAIN_INTERVAL_SECONDS (default 2): how often `npm start` drains the outbox. */
export function localDrainIntervalMs(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.EVENTS_DRAIN_INTERVAL_SECONDS;
  if (raw === undefined || raw === '') return 2_000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0.1 || seconds > 3600) {
    throw new TypeError(`EVENTS_DRAIN_INTERVAL_SECONDS must be a number of seconds between 0.1 and 3600, got ${JSON.stringify(raw)}`);
  }
  return Math.round(seconds * 1000);
}
