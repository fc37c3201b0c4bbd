// The admin API's answers as the dashboard reads them: only the fields it uses. The API's zod schemas
// (../../admin-schemas.ts) are the definition; a compile-time test checks that each schema's output satisfies these.

type Counts = Readonly<Record<string, number>>;

export interface StatsAnswer {
  readonly total: number;
  readonly byStatus: Counts;
  readonly health: Counts;
  readonly byProvider: readonly { readonly provider: string; readonly total: number; readonly byStatus: Counts }[];
}

export interface RefreshRunCounts {
  readonly refreshed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly remaining: number;
}

interface SnapshotCommon {
  /** When the run ended (ISO). */
  readonly at: string;
  readonly byStatus: Counts;
}

export type HistorySnapshot =
  | (SnapshotCommon & { readonly kind: 'refresh'; readonly run: RefreshRunCounts })
  | (SnapshotCommon & { readonly kind: 'health' });

export interface HistoryAnswer {
  readonly hours: number;
  readonly from: string;
  readonly to: string;
  readonly snapshots: readonly HistorySnapshot[];
  readonly truncated: boolean;
}

export interface ConnectionAnswer {
  readonly connectionId: string;
  readonly provider: string;
  readonly tenantId: string;
  readonly userId: string | null;
  readonly accountId: string;
  readonly displayName: string | null;
  readonly scopes: readonly string[];
  readonly status: string;
  readonly statusReason: string | null;
  readonly health: { readonly status: string; readonly errorCode: string | null };
  readonly expiresAt: string | null;
  readonly refresh: { readonly lastRefreshAt: string | null };
  readonly sealedWithKeyVersion: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ConnectionListAnswer {
  readonly connections: readonly ConnectionAnswer[];
  readonly nextCursor: string | null;
}

export interface ConnectionDetailAnswer {
  readonly connection: ConnectionAnswer;
  readonly audit: readonly {
    readonly at: string;
    readonly action: string;
    readonly actor: { readonly type: string; readonly id: string | null };
    readonly outcome: string;
    readonly reason: string | null;
  }[];
}

/** A single connection's health check or refresh. */
export interface ConnectionActionAnswer {
  readonly outcome: string;
  readonly reason: string | null;
}

export interface RevokeAnswer {
  readonly providerRevocation: { readonly outcome: string };
}

export interface SweepAnswer {
  readonly ranIn: 'admin_function' | 'cloud_scheduler';
  readonly summary: Readonly<Record<string, number | boolean | string | null>> | null;
  readonly schedulerJob: string | null;
}

export interface RewrapJobAnswer {
  readonly jobId: string;
  readonly status: 'running' | 'completed';
  readonly total: number;
  readonly counts: {
    readonly scanned: number;
    readonly rewrapped: number;
    readonly alreadyCurrent: number;
    readonly failed: number;
  };
}
