// Connection counts from count aggregations (priced per 1,000 index entries, not per document), so the cost of
// the operator's numbers and the sweeps' history snapshots stays flat as connections grow.
import type { Firestore, Query } from '@google-cloud/firestore';
import { mapWithConcurrency } from '../async/bounded-concurrency.js';
import { collectionNames } from './collections.js';
import { healthStatuses } from './connection-document.js';
import { type ConnectionStatus, connectionStatuses } from './connection-status.js';
import { declareQuery } from './query-shape.js';

type HealthStatus = (typeof healthStatuses)[number];

const COUNT_CONCURRENCY = 16;
const liveStatuses = connectionStatuses.filter((status) => status !== 'revoked');

export const allConnections = declareQuery({ name: 'allConnections', collection: collectionNames.connections });

export const connectionsWithStatus = declareQuery({
  name: 'connectionsWithStatus',
  collection: collectionNames.connections,
  filters: [{ field: 'status', operator: '==' }],
});

export const providerConnectionsWithStatus = declareQuery({
  name: 'providerConnectionsWithStatus',
  collection: collectionNames.connections,
  filters: [
    { field: 'provider', operator: '==' },
    { field: 'status', operator: '==' },
  ],
});

export const connectionsWithHealthAmongStatuses = declareQuery({
  name: 'connectionsWithHealthAmongStatuses',
  collection: collectionNames.connections,
  filters: [
    { field: 'health.status', operator: '==' },
    { field: 'status', operator: 'in' },
  ],
});

async function count(query: Query): Promise<number> {
  const snapshot = await query.count().get();
  return snapshot.data().count;
}

/** Every status at zero: the start of a count by status. */
export const zeroByStatus = (): Record<ConnectionStatus, number> =>
  Object.fromEntries(connectionStatuses.map((status) => [status, 0])) as Record<ConnectionStatus, number>;

export async function countAllConnections(firestore: Firestore): Promise<number> {
  return count(allConnections.build(firestore, {}));
}

/**
 * Connections by status alone: one count per status (five aggregations, each served by the single-field index on
 * `status`), cheap enough for every sweep run to take as its history snapshot.
 */
export async function countConnectionsByStatus(firestore: Firestore): Promise<Record<ConnectionStatus, number>> {
  const counts = await Promise.all(connectionStatuses.map((status) => count(connectionsWithStatus.build(firestore, { status }))));
  const byStatus = zeroByStatus();
  connectionStatuses.forEach((status, index) => {
    byStatus[status] = counts[index] ?? 0;
  });
  return byStatus;
}

/** One count per provider and status: fine for an operator's page view, too many for every sweep run. */
export async function countConnectionsByProviderAndStatus(
  firestore: Firestore,
  providers: readonly string[],
): Promise<{ provider: string; total: number; byStatus: Record<ConnectionStatus, number> }[]> {
  const cells = providers.flatMap((provider) => connectionStatuses.map((status) => ({ provider, status })));
  const counts = await mapWithConcurrency(cells, COUNT_CONCURRENCY, ({ provider, status }) =>
    count(providerConnectionsWithStatus.build(firestore, { provider, status })),
  );
  const rows = providers.map((provider) => ({ provider, total: 0, byStatus: zeroByStatus() }));
  cells.forEach(({ status }, index) => {
    const row = rows[Math.floor(index / connectionStatuses.length)];
    if (row === undefined) return;
    const cell = counts[index] ?? 0;
    row.byStatus[status] = cell;
    row.total += cell;
  });
  return rows;
}

/** The health of the connections that are not revoked. */
export async function countLiveConnectionsByHealth(firestore: Firestore): Promise<Record<HealthStatus, number>> {
  const counts = await mapWithConcurrency([...healthStatuses], COUNT_CONCURRENCY, (health) =>
    count(connectionsWithHealthAmongStatuses.build(firestore, { 'health.status': health, status: liveStatuses })),
  );
  return Object.fromEntries(healthStatuses.map((health, index) => [health, counts[index] ?? 0])) as Record<HealthStatus, number>;
}
