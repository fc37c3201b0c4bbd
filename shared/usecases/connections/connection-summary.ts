// What a product backend may see of a connection: who, what, how healthy; never a secret or sealed blob.
import type { StoredConnection } from '../../store/connection-reads.js';

/** A stored time in milliseconds as the ISO string the APIs answer with; null stays null. */
export const isoTimeOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function summarizeConnection({ id, document }: StoredConnection) {
  return {
    connectionId: id,
    tenantId: document.tenantId,
    userId: document.userId,
    provider: document.provider,
    kind: document.kind,
    accountId: document.providerAccountId,
    displayName: document.displayName,
    scopes: document.scopes,
    status: document.status,
    statusReason: document.statusReason,
    health: { status: document.health.status, checkedAt: isoTimeOrNull(document.health.checkedAtMs), errorCode: document.health.errorCode },
    metadata: document.metadata,
    expiresAt: isoTimeOrNull(document.expiresAtMs),
    createdAt: new Date(document.createdAtMs).toISOString(),
    updatedAt: new Date(document.updatedAtMs).toISOString(),
  };
}

export type ConnectionSummary = Readonly<ReturnType<typeof summarizeConnection>>;
