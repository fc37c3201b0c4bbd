// The dashboard's history: the snapshots the sweep runs left (shared/usecases/sweeps/sweep-snapshot.ts), read as a series.
import { readStatsSnapshots } from '../../store/stats-snapshots.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import type { StatsHistory, StatsHistoryQuery } from './admin-schemas.js';

/**
 * Snapshots in one answer at most, the newest kept: the default schedules (refresh every 5 minutes, health every 30)
 * leave about 340 a day, so this covers some 12 days; the dashboard's default 48 hours reads about 670.
 */
export const MAX_HISTORY_SNAPSHOTS = 4000;

/** The snapshots of the last `hours`, oldest first, times as ISO strings; bucketing is the reader's business. */
export async function readSweepHistory(runtime: BrokerRuntime, query: StatsHistoryQuery): Promise<StatsHistory> {
  const toMs = runtime.clock.nowMs();
  const fromMs = toMs - query.hours * 3600_000;
  const page = await readStatsSnapshots(runtime.firestore(), fromMs, MAX_HISTORY_SNAPSHOTS);
  return {
    hours: query.hours,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    snapshots: page.snapshots.map(({ atMs, ...rest }) => ({ ...rest, at: new Date(atMs).toISOString() })),
    truncated: page.truncated,
    unreadable: page.unreadable,
  };
}
