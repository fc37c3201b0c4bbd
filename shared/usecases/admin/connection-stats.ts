// Counts at a glance: connections by provider and status, and the health of the live ones.
import {
  countAllConnections,
  countConnectionsByProviderAndStatus,
  countLiveConnectionsByHealth,
  zeroByStatus,
} from '../../store/connection-counts.js';
import { connectionStatuses } from '../../store/connection-status.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import type { Stats } from './admin-schemas.js';

export async function connectionStats(runtime: BrokerRuntime): Promise<Stats> {
  const firestore = runtime.firestore();
  const providers = runtime.catalog.providers.map((provider) => provider.id);
  const [total, byProvider, health] = await Promise.all([
    countAllConnections(firestore),
    countConnectionsByProviderAndStatus(firestore, providers),
    countLiveConnectionsByHealth(firestore),
  ]);
  const byStatus = zeroByStatus();
  for (const row of byProvider) for (const status of connectionStatuses) byStatus[status] += row.byStatus[status];
  const listed = byProvider.reduce((sum, row) => sum + row.total, 0);
  return {
    total,
    byStatus,
    // Providers with no connection at all are left out: the dashboard shows what exists.
    byProvider: byProvider.filter((row) => row.total > 0),
    unlistedProviders: Math.max(0, total - listed),
    health,
    generatedAt: new Date(runtime.clock.nowMs()).toISOString(),
  };
}
