// The refresh sweep: every connection due within the window, earliest first, refreshed through the engine's lease, within the time budget.
//
// Idempotent across overlapping runs: each connection is re-read before it is refreshed and skipped when its
// `nextRefreshAtMs` moved (someone refreshed it) or its lease is live; the lease makes the refresh itself single
// flight. Nothing is skipped for good: a skipped, failed or unreached connection stays due (or is due again after
// its backoff), so the next run takes it.
import { isBrokerError } from '../../errors/broker-error.js';
import { recordSweepSnapshot } from './sweep-snapshot.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { discardUnconfirmedGrants, type UnconfirmedGrantsReport } from '../connections/discard-parked-grant.js';
import { type PendingRevocationsReport, retryPendingRevocations } from '../connections/retry-pending-revocations.js';
import { drainAfterChange } from '../events/drain-after-change.js';
import type { SweepSkipReason } from '../refresh/refresh-engine.js';
import { runSweepPool } from './sweep-pool.js';
import { countAfter, dueConnectionsQuery, fetchSweepPage, type SweepItem } from '../../store/sweep-queries.js';
import { schedulerActor, type SweepOptions, sweepPoolLimits, sweepSettings } from './sweep-settings.js';

export interface RefreshSweepOptions extends SweepOptions {
  /** Also refresh what falls due within this long; the configured window by default. */
  readonly windowMs?: number;
}

export interface RefreshSweepReport {
  readonly refreshed: number;
  readonly skipped: number;
  readonly skippedByReason: Readonly<Partial<Record<SweepSkipReason, number>>>;
  readonly failed: { readonly total: number; readonly byReason: Readonly<Record<string, number>> };
  /** Due connections this run did not get to (time budget): the next run starts with them. */
  readonly remaining: number;
  readonly stoppedByDeadline: boolean;
  readonly durationMs: number;
  /** Events published by the drain at the end, or null when no drain ran. */
  readonly eventsPublished: number | null;
  /** Provider revocations retried after a disconnect could not finish them; null when listing them failed. */
  readonly providerRevocations: PendingRevocationsReport | null;
  /** Parked connect grants nobody confirmed in time, discarded and revoked at the provider; null when listing them failed. */
  readonly unconfirmedGrants: UnconfirmedGrantsReport | null;
}

function increment<K extends string>(counts: Partial<Record<K, number>>, key: K): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Flattens counts for a log line, which carries strings, not objects: ["invalid_grant=2", ...]. */
export function countsForLog(counts: Readonly<Record<string, number | undefined>>): string[] {
  return Object.entries(counts)
    .filter(([, count]) => count !== undefined && count > 0)
    .map(([key, count]) => `${key}=${count}`)
    .sort();
}

export async function runRefreshSweep(runtime: BrokerRuntime, options: RefreshSweepOptions = {}): Promise<RefreshSweepReport> {
  const settings = sweepSettings(runtime.config, options);
  const windowMs = options.windowMs ?? runtime.config.sweeps.refreshWindowMs;
  if (!(windowMs >= 0)) throw new TypeError('windowMs must be >= 0');
  const { clock } = runtime;
  const logger = (options.logger ?? runtime.logger).child({ labels: { component: 'refresh-sweep' } });
  const engine = runtime.refreshEngine();
  const actor = options.actor ?? schedulerActor(runtime.config);
  const firestore = runtime.firestore();
  const startedAtMs = clock.nowMs();
  // One cut-off for the whole run: connections that fall due while it runs belong to the next one.
  const dueByMs = startedAtMs + windowMs;
  const query = dueConnectionsQuery(firestore, dueByMs);

  let refreshed = 0;
  const skippedByReason: Partial<Record<SweepSkipReason, number>> = {};
  const failedByReason: Record<string, number> = {};

  const pool = await runSweepPool<SweepItem>({
    fetchPage: async (cursor) => {
      const { page, unreadableIds } = await fetchSweepPage(query, cursor, settings.pageSize, { wholeDocuments: true });
      if (unreadableIds.length > 0) {
        logger.error('refresh.sweep_unreadable', 'Connections with unreadable sweep fields were left alone', {
          count: unreadableIds.length,
          connectionIds: unreadableIds.slice(0, 20),
        });
      }
      return page;
    },
    idOf: (item) => item.id,
    providerOf: (item) => item.provider,
    work: async (item) => {
      const result = await engine.refreshConnection(item.id, {
        actor,
        seen: item.seen,
        mode: { kind: 'due', dueByMs, expectedNextRefreshAtMs: item.nextRefreshAtMs },
      });
      if (result.outcome === 'refreshed') refreshed += 1;
      else if (result.outcome === 'skipped') increment(skippedByReason, result.reason);
      else increment(failedByReason, result.reason);
    },
    ...sweepPoolLimits(settings, startedAtMs, clock, options.random),
  });

  let remaining = pool.notStarted;
  if (pool.morePages) {
    remaining += await countAfter(query, pool.cursor).catch((error: unknown) => {
      logger.warn('refresh.sweep_count_failed', 'Could not count the connections left for the next run', { error });
      return 0;
    });
  }
  if (pool.fetchError !== undefined) {
    logger.error('refresh.sweep_query_failed', 'Querying due connections failed; the next run continues', {
      errorCode: isBrokerError(pool.fetchError) ? pool.fetchError.code : 'internal',
      error: pool.fetchError,
    });
  }
  // After the refreshes, within the same budget: a refresh keeps a live grant working; an unconfirmed grant and a pending
  // revocation can wait a run. Unconfirmed grants first: discarding one may hand its revocation to the pending ones.
  const deadlineMs = startedAtMs + settings.timeBudgetMs;
  const unconfirmedGrants = await discardUnconfirmedGrants(runtime, { actor, logger, deadlineMs }).catch((error: unknown) => {
    logger.error('connect.discard_failed', 'Discarding unconfirmed connect grants failed; the next run continues', {
      errorCode: isBrokerError(error) ? error.code : 'internal',
      error,
    });
    return null;
  });
  const providerRevocations = await retryPendingRevocations(runtime, { actor, logger, deadlineMs }).catch(
    (error: unknown) => {
      logger.error('revocation.pending_failed', 'Retrying pending provider revocations failed; the next run continues', {
        errorCode: isBrokerError(error) ? error.code : 'internal',
        error,
      });
      return null;
    },
  );
  const drained = options.drain === false ? undefined : await drainAfterChange(runtime, { maxEvents: 1000, budgetMs: 20_000, logger });
  const skipped = Object.values(skippedByReason).reduce((sum, count) => sum + count, 0);
  const failedTotal = Object.values(failedByReason).reduce((sum, count) => sum + count, 0);
  const report: RefreshSweepReport = {
    refreshed,
    skipped,
    skippedByReason,
    failed: { total: failedTotal, byReason: failedByReason },
    remaining,
    stoppedByDeadline: pool.stoppedByDeadline,
    durationMs: clock.nowMs() - startedAtMs,
    eventsPublished: drained?.published ?? null,
    providerRevocations,
    unconfirmedGrants,
  };
  const fields = {
    refreshed,
    skipped,
    skippedByReason: countsForLog(skippedByReason),
    failed: failedTotal,
    failedByReason: countsForLog(failedByReason),
    remaining,
    durationMs: report.durationMs,
    published: report.eventsPublished,
    revocationsCompleted: providerRevocations?.completed ?? null,
    revocationsRescheduled: providerRevocations?.rescheduled ?? null,
    revocationsAbandoned: providerRevocations?.abandoned ?? null,
    unconfirmedDiscarded: unconfirmedGrants?.discarded ?? null,
    outcome: pool.fetchError !== undefined ? 'query_failed' : pool.stoppedByDeadline ? 'budget_exhausted' : 'complete',
  };
  if (failedTotal > 0 || pool.fetchError !== undefined) logger.warn('refresh.sweep', 'Refresh sweep finished with failures', fields);
  else logger.info('refresh.sweep', 'Refresh sweep finished', fields);
  await recordSweepSnapshot(runtime, { kind: 'refresh', queryFailed: pool.fetchError !== undefined, report }, logger);
  return report;
}
