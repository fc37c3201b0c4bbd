// What an operator sees of a connection: everything about its state, nothing of its secrets or sealed blob.
import type { StoredConnection } from '../../store/connection-reads.js';
import type { AdminConnection } from './admin-schemas.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function adminConnectionView({ id, document }: StoredConnection): AdminConnection {
  return {
    connectionId: id,
    tenantId: document.tenantId,
    userId: document.userId,
    provider: document.provider,
    kind: document.kind,
    accountId: document.providerAccountId,
    displayName: document.displayName,
    scopes: [...document.scopes],
    status: document.status,
    statusReason: document.statusReason,
    health: {
      status: document.health.status,
      checkedAt: iso(document.health.checkedAtMs),
      latencyMs: document.health.latencyMs,
      errorCode: document.health.errorCode,
    },
    refresh: {
      lastRefreshAt: iso(document.refresh.lastRefreshAtMs),
      nextRefreshAt: iso(document.nextRefreshAtMs),
      consecutiveFailures: document.refresh.consecutiveFailures,
      lastErrorCode: document.refresh.lastErrorCode,
    },
    sealedWithKeyVersion: document.credentials?.kmsKeyVersion ?? null,
    hasCredentials: document.credentials !== null,
    metadata: { ...document.metadata },
    expiresAt: iso(document.expiresAtMs),
    createdAt: new Date(document.createdAtMs).toISOString(),
    updatedAt: new Date(document.updatedAtMs).toISOString(),
    revokedAt: iso(document.revokedAtMs),
  };
}
