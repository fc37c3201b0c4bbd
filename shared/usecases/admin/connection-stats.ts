// Counts at a glance: connections by provider and status, and the health of the live ones, from count
// aggregations (priced per 1,000 index entries, not per document), so the cost stays flat as connections grow.
import { type Query } from '@google-cloud/firestore';
import { collectionNames } from '../../store/collections.js';
import { healthStatuses } from '../../store/connection-document.js';
import { type ConnectionStatus, connectionStatuses } from '../../store/connection-status.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import type { Stats } from './admin-schemas.js';
import { mapWithConcurrency } from './bounded-concurrency.js';

const COUNT_CONCURRENCY = 16;
const liveStatuses = connectionStatuses.filter((status) => status !== 'revoked');

async function count(query: Query): Promise<number> {
  const snapshot = await query.count().get();
  return snapshot.data().count;
}

const zeroByStatus = (): Record<ConnectionStatus, number> =>
  Object.fromEntries(connectionStatuses.map((status) => [status, 0])) as Record<ConnectionStatus, number>;

/**
 * Connections by status alone: one count per status (five aggregations, each served by the single-field index on
 * `status`), cheap enough for every sweep run to take as its history snapshot. The full stats above cost a count per
 * provider and status, which is fine for an operator's page view but not for every run.
 */
export async function countConnectionsByStatus(runtime: BrokerRuntime): Promise<Record<ConnectionStatus, number>> {
  const connections = runtime.firestore().collection(collectionNames.connections);
  const counts = await Promise.all(connectionStatuses.map((status) => count(connections.where('status', '==', status))));
  const byStatus = zeroByStatus();
  connectionStatuses.forEach((status, index) => {
    byStatus[status] = counts[index] ?? 0;
  });
  return byStatus;
}

export async function connectionStats(runtime: BrokerRuntime): Promise<Stats> {
  const connections = runtime.firestore().collection(collectionNames.connections);
  const providers = runtime.catalog.providers.map((provider) => provider.id);
  const cells = providers.flatMap((provider) => connectionStatuses.map((status) => ({ provider, status })));
  const [total, cellCounts, healthCounts] = await Promise.all([
    count(connections),
    mapWithConcurrency(cells, COUNT_CONCURRENCY, ({ provider, status }) =>
      count(connections.where('provider', '==', provider).where('status', '==', status)),
    ),
    mapWithConcurrency([...healthStatuses], COUNT_CONCURRENCY, (health) =>
      count(connections.where('health.status', '==', health).where('status', 'in', liveStatuses)),
    ),
  ]);
  const byStatus = zeroByStatus();
  const byProvider = providers.map((provider) => ({ provider, total: 0, byStatus: zeroByStatus() }));
  cells.forEach(({ status }, index) => {
    const cell = cellCounts[index] ?? 0;
    const row = byProvider[Math.floor(index / connectionStatuses.length)];
    if (row === undefined) return;
    row.byStatus[status] = cell;
    row.total += cell;
    byStatus[status] += cell;
  });
  const listed = byProvider.reduce((sum, row) => sum + row.total, 0);
  return {
    total,
    byStatus,
    // Providers with no connection at all are left out: the dashboard shows what exists.
    byProvider: byProvider.filter((row) => row.total > 0),
    unlistedProviders: Math.max(0, total - listed),
    health: Object.fromEntries(healthStatuses.map((health, index) => [health, healthCounts[index] ?? 0])) as Stats['health'],
    generatedAt: new Date(runtime.clock.nowMs()).toISOString(),
  };
}
