// What a refresh's outcome writes, each through the lease's fenced commit: new credentials, a failure, or a late reply.
//
// Why each outcome is one atomic unit (its own transaction, or a commit it shares with the other outcomes of its turn,
// which lands all of them or none): the rotated refresh token, the status move, its outbox event, the audit entry
// and the lease's release must land together. A release that could commit without the tokens would let a waiter
// refresh with a refresh token the provider has already invalidated.
import type { Firestore } from '@google-cloud/firestore';
import type { AtomicWrites } from './atomic-writes.js';
import type { SealedBlob } from '../crypto/sealed-blob.js';
import { BrokerError } from '../errors/broker-error.js';
import type { Clock } from '../time/clock.js';
import type { IdSource } from '../time/ids.js';
import { type AuditEntry, appendAuditInTransaction } from './audit-log.js';
import type { ConnectionDocument } from './connection-document.js';
import { recordConnectionEvent } from './connection-events-outbox.js';
import type { StoredConnection } from './connection-reads.js';
import { type ConnectionStatus, canMove, eventForMove } from './connection-status.js';
import { commitLateReply, commitRefresh, credentialsSealOf, type RefreshFence } from './lease.js';

export interface RefreshWriteDependencies {
  readonly clock: Clock;
  readonly ids: IdSource;
}

export type AuditActor = AuditEntry['actor'];

export interface RefreshedCredentials {
  readonly credentials: SealedBlob;
  readonly expiresAtMs: number | null;
  readonly nextRefreshAtMs: number | null;
  readonly scopes: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
}

export type RefreshFailure =
  | { readonly kind: 'dead_grant'; readonly reason: string }
  | {
      readonly kind: 'retryable';
      readonly reason: string;
      readonly nextRefreshAtMs: number;
      /** The failure count at which the status becomes `error`. */
      readonly failuresBeforeError: number;
    };

interface StatusMove {
  readonly from: ConnectionStatus;
  readonly to: ConnectionStatus;
  readonly reason: string | null;
}

function announceMove(
  firestore: Firestore,
  writes: AtomicWrites,
  stored: StoredConnection,
  move: StatusMove,
  dependencies: RefreshWriteDependencies,
): void {
  if (!canMove(move.from, move.to)) {
    throw new BrokerError('internal', 'A refresh attempted a status move the state machine forbids', {
      details: { connectionId: stored.id, fromStatus: move.from, toStatus: move.to },
    });
  }
  const type = eventForMove(move.from, move.to);
  if (type === undefined) return;
  const { tenantId, userId, provider } = stored.document;
  recordConnectionEvent(
    firestore,
    writes,
    { type, tenantId, userId, provider, connectionId: stored.id, fromStatus: move.from, toStatus: move.to, reason: move.reason },
    dependencies,
  );
}

/** The changes, event and audit entry of stored credentials; `reason` says how they arrived (null: a refresh in time). */
function refreshedChanges(
  firestore: Firestore,
  writes: AtomicWrites,
  stored: StoredConnection,
  refreshed: RefreshedCredentials,
  audit: { readonly actor: AuditActor; readonly reason: string | null },
  dependencies: RefreshWriteDependencies,
): Partial<ConnectionDocument> {
  const nowMs = dependencies.clock.nowMs();
  const { tenantId, userId, provider, status } = stored.document;
  announceMove(firestore, writes, stored, { from: status, to: 'active', reason: audit.reason ?? 'refreshed' }, dependencies);
  appendAuditInTransaction(
    firestore,
    writes,
    { action: 'connection.refreshed', actor: audit.actor, tenantId, userId, provider, connectionId: stored.id, outcome: 'success', reason: audit.reason },
    dependencies,
  );
  return {
    credentials: refreshed.credentials,
    expiresAtMs: refreshed.expiresAtMs,
    nextRefreshAtMs: refreshed.nextRefreshAtMs,
    scopes: [...refreshed.scopes],
    metadata: { ...stored.document.metadata, ...refreshed.metadata },
    refresh: { lastRefreshAtMs: nowMs, consecutiveFailures: 0, lastErrorCode: null },
    status: 'active',
    statusReason: null,
    // A grant that was waiting for the user is usable again: its health verdict no longer stands.
    ...(status === 'needs_reauth' ? { health: { status: 'unknown', checkedAtMs: null, latencyMs: null, errorCode: null } } : {}),
  };
}

/**
 * Stores refreshed credentials (the rotated refresh token inside them), clears the failure bookkeeping,
 * moves the status to `active` (announcing a recovery from `error`), audits, and releases the lease.
 */
export function storeRefreshedCredentials(
  firestore: Firestore,
  connectionId: string,
  fence: RefreshFence,
  refreshed: RefreshedCredentials,
  actor: AuditActor,
  dependencies: RefreshWriteDependencies,
): Promise<StoredConnection> {
  return commitRefresh(firestore, connectionId, fence, (stored, writes) => ({
    ...refreshedChanges(firestore, writes, stored, refreshed, { actor, reason: null }, dependencies),
    updatedAtMs: dependencies.clock.nowMs(),
  }));
}

/**
 * Stores the reply of a holder that lost its lease, when nothing newer was stored since it claimed (see
 * lease.ts). `updatedAtMs` stays: a holder that took the lease over must still be able to store its own, newer reply.
 */
export function storeLateReply(
  firestore: Firestore,
  connectionId: string,
  fence: RefreshFence,
  refreshed: RefreshedCredentials,
  actor: AuditActor,
  dependencies: RefreshWriteDependencies,
): Promise<StoredConnection> {
  return commitLateReply(firestore, connectionId, fence, (stored, writes) =>
    refreshedChanges(firestore, writes, stored, refreshed, { actor, reason: 'late_refresh_reply' }, dependencies),
  );
}

/**
 * Records a failed refresh and releases the lease. A dead grant moves to `needs_reauth` at once, its health saying
 * so; a retryable failure schedules the next attempt and moves to `error` once failures pile up. Every move writes
 * its outbox event in the same atomic unit; every failure is audited. A dead-grant answer to a refresh token that
 * was replaced meanwhile (a late reply was kept) proves nothing: `conflict`, and the caller looks again.
 */
export function recordRefreshFailure(
  firestore: Firestore,
  connectionId: string,
  fence: RefreshFence,
  failure: RefreshFailure,
  actor: AuditActor,
  dependencies: RefreshWriteDependencies,
): Promise<StoredConnection> {
  return commitRefresh(firestore, connectionId, fence, (stored, writes) => {
    if (failure.kind === 'dead_grant' && credentialsSealOf(stored.document) !== fence.credentialsSeal) {
      throw new BrokerError('conflict', 'Newer credentials arrived during the refresh; its dead-grant answer was not recorded', {
        details: { connectionId, leaseVersion: fence.version },
      });
    }
    const nowMs = dependencies.clock.nowMs();
    const { tenantId, userId, provider, status, refresh } = stored.document;
    const failures = refresh.consecutiveFailures + 1;
    const to: ConnectionStatus =
      failure.kind === 'dead_grant' ? 'needs_reauth' : failures >= failure.failuresBeforeError ? 'error' : status;
    announceMove(firestore, writes, stored, { from: status, to, reason: failure.reason }, dependencies);
    appendAuditInTransaction(
      firestore,
      writes,
      {
        action: failure.kind === 'dead_grant' ? 'connection.needs_reauth' : 'connection.refresh_failed',
        actor,
        tenantId,
        userId,
        provider,
        connectionId,
        outcome: 'failure',
        reason: failure.reason,
      },
      dependencies,
    );
    return {
      status: to,
      statusReason: to === status ? stored.document.statusReason : failure.reason,
      nextRefreshAtMs: failure.kind === 'dead_grant' ? null : failure.nextRefreshAtMs,
      refresh: { lastRefreshAtMs: refresh.lastRefreshAtMs, consecutiveFailures: failures, lastErrorCode: failure.reason },
      // Health and status agree: a grant the provider refused is not healthy, for the same reason.
      ...(failure.kind === 'dead_grant' ? { health: { status: 'unhealthy', checkedAtMs: nowMs, latencyMs: null, errorCode: failure.reason } } : {}),
      updatedAtMs: nowMs,
    };
  });
}
