// What a product backend may see of a connection: who, what, how healthy; never a secret or sealed blob.
import type { StoredConnection } from '../../store/connection-reads.js';

export interface ConnectionSummary {
  readonly connectionId: string;
  readonly tenantId: string;
  readonly userId: string | null;
  readonly provider: string;
  readonly kind: string;
  readonly accountId: string;
  readonly displayName: string | null;
  readonly scopes: readonly string[];
  readonly status: string;
  readonly statusReason: string | null;
  readonly health: { readonly status: string; readonly checkedAt: string | null; readonly errorCode: string | null };
  readonly metadata: Readonly<Record<string, string>>;
  readonly expiresAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function summarizeConnection({ id, document }: StoredConnection): ConnectionSummary {
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
    health: { status: document.health.status, checkedAt: iso(document.health.checkedAtMs), errorCode: document.health.errorCode },
    metadata: document.metadata,
    expiresAt: iso(document.expiresAtMs),
    createdAt: new Date(document.createdAtMs).toISOString(),
    updatedAt: new Date(document.updatedAtMs).toISOString(),
  };
}
