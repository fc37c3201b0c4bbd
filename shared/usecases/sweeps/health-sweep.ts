// The health sweep: active connections, never-checked and longest-unchecked first, each probed at its provider, within the time budget.
//
// A connection checked within the recheck interval is left alone, so a run that ends early (budget) continues
// where it stopped on the next run: the order is by last check, and what this run checked goes to the back.
import { isBrokerError } from '../../errors/broker-error.js';
import { recordSweepSnapshot } from './sweep-snapshot.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { drainAfterChange } from '../events/drain-after-change.js';
import { checkConnectionHealth, type HealthOutcome } from './check-connection-health.js';
import { countsForLog } from './refresh-sweep.js';
import { runSweepPool } from './sweep-pool.js';
import { countAfter, fetchSweepPage, healthCheckQuery, type SweepItem } from '../../store/sweep-queries.js';
import { schedulerActor, type SweepOptions, sweepPoolLimits, sweepSettings } from './sweep-settings.js';

export interface HealthSweepOptions extends SweepOptions {
  /** Connections checked more recently than this are not checked again; the configured interval by default. */
  readonly recheckMs?: number;
}

export interface HealthSweepReport {
  readonly checked: number;
  readonly healthy: number;
  readonly unhealthy: number;
  readonly needsReauth: number;
  readonly skipped: number;
  /** Unhealthy checks by error code, and checks that could not run by error code. */
  readonly unhealthyByReason: Readonly<Record<string, number>>;
  readonly failed: { readonly total: number; readonly byReason: Readonly<Record<string, number>> };
  /** Grants refreshed because the provider rejected the stored token. */
  readonly refreshed: number;
  /** Connections due for a check this run did not get to (time budget): the next run starts with them. */
  readonly remaining: number;
  readonly stoppedByDeadline: boolean;
  readonly durationMs: number;
  readonly eventsPublished: number | null;
}

export async function runHealthSweep(runtime: BrokerRuntime, options: HealthSweepOptions = {}): Promise<HealthSweepReport> {
  const settings = sweepSettings(runtime.config, options);
  const recheckMs = options.recheckMs ?? runtime.config.sweeps.healthRecheckMs;
  if (!(recheckMs >= 0)) throw new TypeError('recheckMs must be >= 0');
  const { clock } = runtime;
  const logger = (options.logger ?? runtime.logger).child({ labels: { component: 'health-sweep' } });
    const actor = options.actor ?? schedulerActor(runtime.config);
  const query = healthCheckQuery(runtime.firestore());
  const startedAtMs = clock.nowMs();
  // Checked after this: recently enough to wait for a later run (everything this run checks lands after it too).
  const checkedBeforeMs = startedAtMs - recheckMs;
  const isDue = (item: SweepItem) => item.checkedAtMs === null || item.checkedAtMs <= checkedBeforeMs;

  const outcomes: Record<HealthOutcome, number> = { healthy: 0, unhealthy: 0, needs_reauth: 0, skipped: 0 };
  const unhealthyByReason: Record<string, number> = {};
  const failedByReason: Record<string, number> = {};
  let refreshed = 0;
  let reachedRecent = false;

  const pool = await runSweepPool<SweepItem>({
    fetchPage: async (cursor) => {
      const { page, unreadableIds } = await fetchSweepPage(query, cursor, settings.pageSize);
      if (unreadableIds.length > 0) {
        logger.error('health.sweep_unreadable', 'Connections with unreadable sweep fields were left alone', {
          count: unreadableIds.length,
          connectionIds: unreadableIds.slice(0, 20),
        });
      }
      const due = page.items.filter(isDue);
      // Ordered by last check: the first recent one means everything after it is recent too.
      if (due.length < page.items.length) reachedRecent = true;
      return { items: due, next: reachedRecent ? undefined : page.next };
    },
    idOf: (item) => item.id,
    providerOf: (item) => item.provider,
    work: async (item) => {
      try {
        const result = await checkConnectionHealth(runtime, item.id, { actor, logger });
        outcomes[result.outcome] += 1;
        if (result.refreshed) refreshed += 1;
        if (result.outcome !== 'healthy' && result.outcome !== 'skipped' && result.reason !== null) {
          unhealthyByReason[result.reason] = (unhealthyByReason[result.reason] ?? 0) + 1;
        }
      } catch (error) {
        const reason = isBrokerError(error) ? error.code : 'internal';
        failedByReason[reason] = (failedByReason[reason] ?? 0) + 1;
        logger.warn('health.check_failed', 'A health check could not run; the next sweep tries again', {
          connectionId: item.id,
          provider: item.provider,
          errorCode: reason,
          error,
        });
      }
    },
    ...sweepPoolLimits(settings, startedAtMs, clock, options.random),
  });

  let remaining = pool.notStarted;
  if (pool.morePages) {
    // Counted up to the first recently checked one would need another query per page; all later pages are an upper bound.
    remaining += await countAfter(healthCheckQuery(runtime.firestore(), checkedBeforeMs), pool.cursor).catch((error: unknown) => {
      logger.warn('health.sweep_count_failed', 'Could not count the connections left for the next run', { error });
      return 0;
    });
  }
  if (pool.fetchError !== undefined) {
    logger.error('health.sweep_query_failed', 'Querying connections to check failed; the next run continues', {
      errorCode: isBrokerError(pool.fetchError) ? pool.fetchError.code : 'internal',
      error: pool.fetchError,
    });
  }
  const drained = options.drain === false ? undefined : await drainAfterChange(runtime, { maxEvents: 1000, budgetMs: 20_000, logger });
  const failedTotal = Object.values(failedByReason).reduce((sum, count) => sum + count, 0);
  const report: HealthSweepReport = {
    checked: outcomes.healthy + outcomes.unhealthy + outcomes.needs_reauth,
    healthy: outcomes.healthy,
    unhealthy: outcomes.unhealthy,
    needsReauth: outcomes.needs_reauth,
    skipped: outcomes.skipped,
    unhealthyByReason,
    failed: { total: failedTotal, byReason: failedByReason },
    refreshed,
    remaining,
    stoppedByDeadline: pool.stoppedByDeadline,
    durationMs: clock.nowMs() - startedAtMs,
    eventsPublished: drained?.published ?? null,
  };
  const fields = {
    checked: report.checked,
    healthy: report.healthy,
    unhealthy: report.unhealthy,
    needsReauth: report.needsReauth,
    unhealthyByReason: countsForLog(unhealthyByReason),
    refreshed,
    skipped: report.skipped,
    failed: failedTotal,
    failedByReason: countsForLog(failedByReason),
    remaining,
    durationMs: report.durationMs,
    published: report.eventsPublished,
    outcome: pool.fetchError !== undefined ? 'query_failed' : pool.stoppedByDeadline ? 'budget_exhausted' : 'complete',
  };
  if (failedTotal > 0 || pool.fetchError !== undefined) logger.warn('health.sweep', 'Health sweep finished with failures', fields);
  else logger.info('health.sweep', 'Health sweep finished', fields);
  await recordSweepSnapshot(runtime, { kind: 'health', queryFailed: pool.fetchError !== undefined, report }, logger);
  return report;
}
