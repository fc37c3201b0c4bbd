// The writes a refresh makes, each fenced by the refresh lease: new credentials, or the failure, and the lease's release — in one transaction.
//
// Why one transaction per outcome: the rotated refresh token, the status move, its outbox event, the audit
// entry and the release must land together. A release that could commit without the tokens would let a
// waiter refresh with a refresh token the provider has already invalidated.
//
// The fence is the one of lease.ts (writeIfLeaseVersion): the write applies only while the lease still
// carries the version this holder claimed. It is repeated here, not called, because these writes also
// create the outbox event and audit entry and release the lease, which writeIfLeaseVersion cannot do in
// its transaction. On top, the document's `updatedAtMs` must be the one the holder read after claiming: a
// reconnect or revoke that wrote the connection meanwhile wins over a refresh of the grant it replaced.
import type { DocumentReference, Firestore, Transaction, UpdateData } from '@google-cloud/firestore';
import type { SealedBlob } from '../crypto/sealed-blob.js';
import { BrokerError, isBrokerError } from '../errors/broker-error.js';
import type { Clock } from '../time/clock.js';
import type { IdSource } from '../time/ids.js';
import { type AuditEntry, appendAuditInTransaction } from './audit-log.js';
import { type ConnectionDocument, connectionDocumentSchema } from './connection-document.js';
import { recordConnectionEvent } from './connection-events-outbox.js';
import { connectionRef, parseConnectionSnapshot, type StoredConnection } from './connection-reads.js';
import { type ConnectionStatus, canMove, eventForMove } from './connection-status.js';
import type { Lease } from './lease.js';

/** What a holder got from claimLease, plus the version of the document it read once it held the lease. */
export interface RefreshFence {
  readonly holder: string;
  readonly version: number;
  readonly expectedUpdatedAtMs: number;
}

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

// gRPC codes the Firestore client reports (google.rpc.Code): contention, and the transient ones.
const grpcAborted = 10;
const grpcTransientCodes: ReadonlySet<number> = new Set([4, 8, 14]);

function storageFailure(error: unknown, connectionId: string): unknown {
  if (isBrokerError(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === grpcAborted) {
    return new BrokerError('conflict', 'The connection kept changing concurrently; retry', { cause: error, details: { connectionId } });
  }
  if (typeof code === 'number' && grpcTransientCodes.has(code)) {
    return new BrokerError('storage_unavailable', 'Firestore is unavailable; retry later', { cause: error, details: { connectionId } });
  }
  return error;
}

/** Reads the connection inside the transaction and checks the fence; throws when this holder may no longer write. */
async function readFenced(transaction: Transaction, docRef: DocumentReference, fence: RefreshFence): Promise<StoredConnection> {
  const stored = parseConnectionSnapshot(await transaction.get(docRef));
  const details = { connectionId: docRef.id, leaseVersion: fence.version };
  if (stored === undefined) throw new BrokerError('conflict', 'The connection is gone; the refresh was not stored', { details });
  const lease = stored.document.lease;
  // A newer version means someone claimed it since (and may have released it again): taken over.
  if (lease !== undefined && lease.version !== fence.version) {
    throw new BrokerError('lease_held', 'The refresh lease was taken over; the refresh was not stored', { details });
  }
  if (lease === undefined || lease.holder !== fence.holder) {
    throw new BrokerError('conflict', 'The refresh lease was released; the refresh was not stored', { details });
  }
  if (stored.document.updatedAtMs !== fence.expectedUpdatedAtMs || stored.document.status === 'revoked') {
    throw new BrokerError('conflict', 'The connection was reconnected or revoked during the refresh; the refresh was not stored', {
      details,
    });
  }
  return stored;
}

function released(version: number): Lease {
  return { holder: null, expiresAtMs: 0, version };
}

interface StatusMove {
  readonly from: ConnectionStatus;
  readonly to: ConnectionStatus;
  readonly reason: string | null;
}

function announceMove(
  firestore: Firestore,
  transaction: Transaction,
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
    transaction,
    { type, tenantId, userId, provider, connectionId: stored.id, fromStatus: move.from, toStatus: move.to, reason: move.reason },
    dependencies,
  );
}

async function fencedUpdate(
  firestore: Firestore,
  connectionId: string,
  fence: RefreshFence,
  build: (stored: StoredConnection, transaction: Transaction) => Partial<ConnectionDocument>,
): Promise<StoredConnection> {
  const docRef = connectionRef(firestore, connectionId);
  try {
    return await firestore.runTransaction(async (transaction) => {
      const stored = await readFenced(transaction, docRef, fence);
      const changes = build(stored, transaction);
      // Validated as a whole before it is written: a refresh can never leave a document the schema rejects.
      const document = connectionDocumentSchema.parse({ ...stored.document, ...changes });
      transaction.update(docRef, changes as UpdateData<ConnectionDocument>);
      return { id: stored.id, document };
    });
  } catch (error) {
    throw storageFailure(error, connectionId);
  }
}

/**
 * Stores refreshed credentials (the rotated refresh token inside them), clears the failure bookkeeping,
 * moves the status to `active` (announcing a recovery from `error`), audits, and releases the lease.
 */
export async function storeRefreshedCredentials(
  firestore: Firestore,
  connectionId: string,
  fence: RefreshFence,
  refreshed: RefreshedCredentials,
  actor: AuditActor,
  dependencies: RefreshWriteDependencies,
): Promise<StoredConnection> {
  return fencedUpdate(firestore, connectionId, fence, (stored, transaction) => {
    const nowMs = dependencies.clock.nowMs();
    announceMove(firestore, transaction, stored, { from: stored.document.status, to: 'active', reason: 'refreshed' }, dependencies);
    const { tenantId, userId, provider } = stored.document;
    appendAuditInTransaction(
      firestore,
      transaction,
      { action: 'connection.refreshed', actor, tenantId, userId, provider, connectionId, outcome: 'success', reason: null },
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
      updatedAtMs: nowMs,
      lease: released(fence.version),
    };
  });
}

/**
 * Records a failed refresh and releases the lease. A dead grant moves to `needs_reauth` at once; a
 * retryable failure schedules the next attempt and moves to `error` once failures pile up. Every move
 * writes its outbox event in the same transaction; every failure is audited.
 */
export async function recordRefreshFailure(
  firestore: Firestore,
  connectionId: string,
  fence: RefreshFence,
  failure: RefreshFailure,
  actor: AuditActor,
  dependencies: RefreshWriteDependencies,
): Promise<StoredConnection> {
  return fencedUpdate(firestore, connectionId, fence, (stored, transaction) => {
    const nowMs = dependencies.clock.nowMs();
    const { tenantId, userId, provider, status, refresh } = stored.document;
    const failures = refresh.consecutiveFailures + 1;
    const to: ConnectionStatus =
      failure.kind === 'dead_grant' ? 'needs_reauth' : failures >= failure.failuresBeforeError ? 'error' : status;
    announceMove(firestore, transaction, stored, { from: status, to, reason: failure.reason }, dependencies);
    appendAuditInTransaction(
      firestore,
      transaction,
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
      updatedAtMs: nowMs,
      lease: released(fence.version),
    };
  });
}
