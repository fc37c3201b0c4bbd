// Each sweep run leaves a snapshot for the dashboard's history: its outcome counts and the connections by status when
// it ended. Recording never fails a sweep.
import { isBrokerError } from '../../errors/broker-error.js';
import type { Logger } from '../../log/logger.js';
import { countConnectionsByStatus } from '../../store/connection-counts.js';
import { boundedReasonCounts, type StatsSnapshot, writeStatsSnapshot } from '../../store/stats-snapshots.js';
import type { BrokerRuntime } from '../broker-runtime.js';

interface RunCommon {
  readonly skipped: number;
  readonly refreshed: number;
  readonly remaining: number;
  readonly failed: { readonly total: number; readonly byReason: Readonly<Record<string, number>> };
  readonly stoppedByDeadline: boolean;
  readonly durationMs: number;
}

/** What a sweep's report says, as far as history keeps it (the sweeps' reports have these fields and more). */
export type SweepRunRecord =
  | { readonly kind: 'refresh'; readonly queryFailed: boolean; readonly report: RunCommon }
  | {
      readonly kind: 'health';
      readonly queryFailed: boolean;
      readonly report: RunCommon & {
        readonly checked: number;
        readonly healthy: number;
        readonly unhealthy: number;
        readonly needsReauth: number;
        readonly unhealthyByReason: Readonly<Record<string, number>>;
      };
    };

function snapshotOf(record: SweepRunRecord, atMs: number, byStatus: StatsSnapshot['byStatus']): StatsSnapshot {
  const { report } = record;
  const base = {
    atMs,
    durationMs: Math.max(0, Math.round(report.durationMs)),
    outcome: record.queryFailed ? 'query_failed' : report.stoppedByDeadline ? 'budget_exhausted' : 'complete',
    byStatus,
  } as const;
  const failedByReason = boundedReasonCounts(report.failed.byReason);
  if (record.kind === 'refresh') {
    return {
      kind: 'refresh',
      ...base,
      run: { refreshed: report.refreshed, failed: report.failed.total, skipped: report.skipped, remaining: report.remaining, failedByReason },
    };
  }
  const health = record.report;
  return {
    kind: 'health',
    ...base,
    run: {
      checked: health.checked,
      healthy: health.healthy,
      unhealthy: health.unhealthy,
      needsReauth: health.needsReauth,
      skipped: health.skipped,
      failed: health.failed.total,
      refreshed: health.refreshed,
      remaining: health.remaining,
      unhealthyByReason: boundedReasonCounts(health.unhealthyByReason),
      failedByReason,
    },
  };
}

/**
 * Counts the connections by status now and stores them with the run's counts. A failure is logged and swallowed:
 * the sweep's own work is done and reported whether or not its history could be kept.
 */
export async function recordSweepSnapshot(runtime: BrokerRuntime, record: SweepRunRecord, logger: Logger): Promise<void> {
  try {
    const byStatus = await countConnectionsByStatus(runtime.firestore());
    await writeStatsSnapshot(runtime.firestore(), snapshotOf(record, runtime.clock.nowMs(), byStatus), runtime.ids);
  } catch (error) {
    logger.warn(`${record.kind}.sweep_snapshot_failed`, 'The sweep ran, but its stats snapshot for the dashboard could not be stored', {
      errorCode: isBrokerError(error) ? error.code : 'internal',
      error,
    });
  }
}

