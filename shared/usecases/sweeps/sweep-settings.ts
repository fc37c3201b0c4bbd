// How a sweep runs (window, pages, concurrency, caps, jitter, budget): the configured values, each overridable per call.
import type { Config } from '../../config/config.js';
import type { Logger } from '../../log/logger.js';
import type { Clock } from '../../time/clock.js';
import type { AuditActor } from '../../store/connection-refresh-writes.js';

/** The sweeps section's settings a single run may override; the config schema is their one definition. */
export type SweepSettings = Pick<Config['sweeps'], 'pageSize' | 'concurrency' | 'providerConcurrency' | 'providerCaps' | 'jitterMs' | 'timeBudgetMs'>;

export interface SweepOptions extends Partial<SweepSettings> {
  /** Who runs the sweep, for the audit entries of what it changes; the scheduler by default. */
  readonly actor?: AuditActor;
  /** Whether to drain the events outbox at the end (default true). */
  readonly drain?: boolean;
  /** The request's logger (trace, function label); the runtime's by default. */
  readonly logger?: Logger;
  /** Jitter source in [0, 1). */
  readonly random?: () => number;
}

export function sweepSettings(config: Config, options: Partial<SweepSettings>): SweepSettings {
  const settings: SweepSettings = {
    pageSize: options.pageSize ?? config.sweeps.pageSize,
    concurrency: options.concurrency ?? config.sweeps.concurrency,
    providerConcurrency: options.providerConcurrency ?? config.sweeps.providerConcurrency,
    providerCaps: options.providerCaps ?? config.sweeps.providerCaps,
    jitterMs: options.jitterMs ?? config.sweeps.jitterMs,
    timeBudgetMs: options.timeBudgetMs ?? config.sweeps.timeBudgetMs,
  };
  for (const name of ['pageSize', 'concurrency', 'providerConcurrency'] as const) {
    if (!Number.isInteger(settings[name]) || settings[name] < 1) throw new TypeError(`${name} must be a positive integer`);
  }
  if (!(settings.jitterMs >= 0) || !(settings.timeBudgetMs > 0)) throw new TypeError('jitterMs must be >= 0 and timeBudgetMs > 0');
  return settings;
}

function providerCapOf(settings: SweepSettings): (provider: string) => number {
  return (provider) => settings.providerCaps[provider] ?? settings.providerConcurrency;
}

/** The pool's limits for one run: concurrency, per-provider caps, jitter, and no new work after the time budget. */
export function sweepPoolLimits(settings: SweepSettings, startedAtMs: number, clock: Clock, random?: () => number) {
  return {
    concurrency: settings.concurrency,
    providerCap: providerCapOf(settings),
    jitterMs: settings.jitterMs,
    deadlineMs: startedAtMs + settings.timeBudgetMs,
    clock,
    ...(random ? { random } : {}),
  };
}

export function schedulerActor(config: Config): AuditActor {
  return { type: 'scheduler', id: config.scheduler.serviceAccount ?? null };
}
