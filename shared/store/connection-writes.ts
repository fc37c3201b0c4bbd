// Connection writes that change status: connect (create or upsert) and revoke, each with its audit entry and
// outbox event in the same transaction, so no change commits without its record.
import type { Firestore, Transaction } from '@google-cloud/firestore';
import type { SealedBlob } from '../crypto/vault.js';
import { BrokerError } from '../errors/broker-error.js';
import type { Clock } from '../time/clock.js';
import type { IdSource } from '../time/ids.js';
import { type AuditEntry, appendAuditInTransaction } from './audit-log.js';
import { type ConnectionDocument, type ConnectionKind, connectionDocumentSchema } from './connection-document.js';
import { recordConnectionEvent } from './connection-events-outbox.js';
import { connectionRef, parseConnectionSnapshot } from './connection-reads.js';
import { type ConnectionEventType, eventForMove } from './connection-status.js';
import { schedulePendingRevocationInTransaction, type StoredPendingRevocation } from './pending-revocations.js';
import { setConnectionDocument, updateConnectionDocument } from './connection-change.js';

export interface WriteDependencies {
  readonly clock: Clock;
  readonly ids: IdSource;
}

export type Actor = AuditEntry['actor'];

export interface ConnectedGrantRecord {
  readonly connectionId: string;
  readonly tenantId: string;
  readonly userId: string | null;
  readonly provider: string;
  readonly kind: ConnectionKind;
  readonly providerAccountId: string;
  readonly displayName: string | null;
  readonly scopes: readonly string[];
  /** Sealed for this connection id and tenant (see connection-credentials.ts). */
  readonly credentials: SealedBlob;
  readonly expiresAtMs: number | null;
  readonly nextRefreshAtMs: number | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly connectionConfig: Readonly<Record<string, string>>;
  readonly actor: Actor;
  /** The grant asked for a refresh token and came without one: usable now, dead when its access token expires. */
  readonly withoutRefreshToken?: boolean;
}

/** The status reason (and event reason) of a connection whose grant asked for offline access and did not get it. */
export const CONNECTED_WITHOUT_REFRESH = 'connected_without_refresh';

export interface UpsertResult {
  readonly connectionId: string;
  /** True when no live connection existed (new, or a reconnect after a revoke). */
  readonly created: boolean;
  readonly event: ConnectionEventType | undefined;
  /** The credentials this write replaced: the caller forgets their data key once the write committed. */
  readonly replacedCredentials: SealedBlob | null;
}

function sameScopes(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  return left.size === new Set(b).size && b.every((scope) => left.has(scope));
}

/**
 * Work that must commit with the connection or not at all (a parked grant consumed by its confirmation). It runs after
 * the connection is read and before anything is written, so it may read; throwing aborts the whole write.
 */
export type SameTransactionWork = (transaction: Transaction, connectionId: string) => Promise<void>;

/**
 * Creates the connection, or updates the one this provider account already has (reconnect, more scopes).
 * A reconnect bumps the lease's fencing version, so a refresh that was in flight with the old grant cannot
 * overwrite the new credentials afterwards.
 */
export async function upsertConnectedGrant(
  firestore: Firestore,
  record: ConnectedGrantRecord,
  dependencies: WriteDependencies,
  inSameTransaction?: SameTransactionWork,
): Promise<UpsertResult> {
  const ref = connectionRef(firestore, record.connectionId);
  return firestore.runTransaction(async (transaction) => {
    const existing = parseConnectionSnapshot(await transaction.get(ref));
    await inSameTransaction?.(transaction, record.connectionId);
    const nowMs = dependencies.clock.nowMs();
    const previous = existing?.document;
    const live = previous !== undefined && previous.status !== 'revoked';
    const document: ConnectionDocument = connectionDocumentSchema.parse({
      tenantId: record.tenantId,
      userId: record.userId,
      provider: record.provider,
      kind: record.kind,
      providerAccountId: record.providerAccountId,
      displayName: record.displayName,
      scopes: [...record.scopes],
      status: 'active',
      statusReason: record.withoutRefreshToken === true ? CONNECTED_WITHOUT_REFRESH : null,
      credentials: record.credentials,
      expiresAtMs: record.expiresAtMs,
      nextRefreshAtMs: record.nextRefreshAtMs,
      refresh: { lastRefreshAtMs: null, consecutiveFailures: 0, lastErrorCode: null },
      ...(previous?.lease === undefined
        ? {}
        : { lease: { holder: null, expiresAtMs: 0, version: previous.lease.version + 1 } }),
      health: { status: 'healthy', checkedAtMs: nowMs, latencyMs: null, errorCode: null },
      metadata: { ...record.metadata },
      connectionConfig: { ...record.connectionConfig },
      createdAtMs: live ? previous.createdAtMs : nowMs,
      updatedAtMs: nowMs,
      revokedAtMs: null,
    });
    setConnectionDocument(transaction, ref, document);
    const fromStatus = previous?.status ?? null;
    let event = eventForMove(fromStatus, 'active');
    if (event === undefined && live && !sameScopes(previous.scopes, record.scopes)) event = 'connection.scopes_changed';
    const who = { tenantId: record.tenantId, userId: record.userId, provider: record.provider, connectionId: record.connectionId };
    if (event !== undefined) {
      recordConnectionEvent(
        firestore,
        transaction,
        { type: event, ...who, fromStatus, toStatus: 'active', reason: live ? 'user_reconnected' : 'user_connected' },
        dependencies,
      );
    }
    if (record.withoutRefreshToken === true) {
      // Its own event, so a product can tell its user to reconnect now rather than when the token dies.
      recordConnectionEvent(
        firestore,
        transaction,
        { type: 'connection.connected_without_refresh', ...who, fromStatus, toStatus: 'active', reason: CONNECTED_WITHOUT_REFRESH },
        dependencies,
      );
    }
    appendAuditInTransaction(
      firestore,
      transaction,
      {
        action: live ? 'connection.reconnected' : 'connection.connected',
        actor: record.actor,
        ...who,
        outcome: 'success',
        reason: record.kind,
      },
      dependencies,
    );
    return { connectionId: record.connectionId, created: !live, event, replacedCredentials: previous?.credentials ?? null };
  });
}

export type ProviderRevocationResult =
  | { readonly outcome: 'revoked' | 'already_revoked' }
  | { readonly outcome: 'not_supported' | 'failed'; readonly reason: string }
  /** The provider failed transiently: the token to revoke is kept sealed and the refresh sweep retries it. */
  | { readonly outcome: 'retry_scheduled'; readonly reason: string };

export interface RevokeResult {
  readonly connectionId: string;
  /** The credentials destroyed by this write: the caller forgets their data key. */
  readonly destroyedCredentials: SealedBlob | null;
  /** Whether the pending revocation was stored (false when the connection was already revoked). */
  readonly pendingRevocationStored: boolean;
}

/**
 * Marks the connection revoked and deletes its sealed credentials (crypto-shredding), recording what the
 * provider said about the revocation. Idempotent: revoking a revoked connection changes nothing.
 */
export async function revokeConnection(
  firestore: Firestore,
  input: {
    readonly connectionId: string;
    readonly actor: Actor;
    readonly providerRevocation: ProviderRevocationResult;
    /** Stored with the revocation when the provider's revocation is to be retried later. */
    readonly pendingRevocation?: { readonly record: StoredPendingRevocation; readonly maxAgeMs: number };
  },
  dependencies: WriteDependencies,
): Promise<RevokeResult> {
  const ref = connectionRef(firestore, input.connectionId);
  return firestore.runTransaction(async (transaction) => {
    const existing = parseConnectionSnapshot(await transaction.get(ref));
    if (existing === undefined) throw new BrokerError('not_found', 'No such connection');
    const previous = existing.document;
    if (previous.status === 'revoked') return { connectionId: input.connectionId, destroyedCredentials: null, pendingRevocationStored: false };
    const nowMs = dependencies.clock.nowMs();
    const statusReason = input.providerRevocation.outcome === 'failed' ? 'provider_revocation_failed' : 'user_disconnected';
    updateConnectionDocument(transaction, ref, {
      status: 'revoked',
      statusReason,
      credentials: null,
      nextRefreshAtMs: null,
      updatedAtMs: nowMs,
      revokedAtMs: nowMs,
    });
    const who = { tenantId: previous.tenantId, userId: previous.userId, provider: previous.provider, connectionId: input.connectionId };
    const event = eventForMove(previous.status, 'revoked');
    if (event !== undefined) {
      recordConnectionEvent(firestore, transaction, { type: event, ...who, fromStatus: previous.status, toStatus: 'revoked', reason: statusReason }, dependencies);
    }
    if (input.providerRevocation.outcome === 'failed') {
      appendAuditInTransaction(
        firestore,
        transaction,
        { action: 'connection.revocation_failed', actor: input.actor, ...who, outcome: 'failure', reason: input.providerRevocation.reason },
        dependencies,
      );
    }
    appendAuditInTransaction(
      firestore,
      transaction,
      { action: 'connection.revoked', actor: input.actor, ...who, outcome: 'success', reason: input.providerRevocation.outcome },
      dependencies,
    );
    if (input.pendingRevocation !== undefined) {
      schedulePendingRevocationInTransaction(firestore, transaction, input.pendingRevocation.record, input.pendingRevocation.maxAgeMs);
    }
    return { connectionId: input.connectionId, destroyedCredentials: previous.credentials, pendingRevocationStored: input.pendingRevocation !== undefined };
  });
}
