// What an operator sees of a connection: the product backends' summary, plus the refresh and key bookkeeping an
// operator steers by; nothing of its secrets or sealed blob.
import type { StoredConnection } from '../../store/connection-reads.js';
import { isoTimeOrNull, summarizeConnection } from '../connections/connection-summary.js';
import type { AdminConnection } from './admin-schemas.js';

export function adminConnectionView(connection: StoredConnection): AdminConnection {
  const { document } = connection;
  const summary = summarizeConnection(connection);
  return {
    ...summary,
    scopes: [...summary.scopes],
    metadata: { ...summary.metadata },
    health: { ...summary.health, latencyMs: document.health.latencyMs },
    refresh: {
      lastRefreshAt: isoTimeOrNull(document.refresh.lastRefreshAtMs),
      nextRefreshAt: isoTimeOrNull(document.nextRefreshAtMs),
      consecutiveFailures: document.refresh.consecutiveFailures,
      lastErrorCode: document.refresh.lastErrorCode,
    },
    sealedWithKeyVersion: document.credentials?.kmsKeyVersion ?? null,
    hasCredentials: document.credentials !== null,
    revokedAt: isoTimeOrNull(document.revokedAtMs),
  };
}
