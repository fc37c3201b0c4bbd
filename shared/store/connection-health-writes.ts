// Records a health check on its connection: the health fields, a health_changed event when it flips, and a move to
// needs_reauth (with its event and audit) when the provider rejects a grant that a refresh could not save — one transaction.
//
// A health-only write changes `health` and nothing else, `updatedAtMs` included: the refresh fence compares
// `updatedAtMs`, and a health check must never make a concurrent refresh discard a rotated refresh token.
import type { Firestore, UpdateData } from '@google-cloud/firestore';
import { BrokerError } from '../errors/broker-error.js';
import type { Clock } from '../time/clock.js';
import type { IdSource } from '../time/ids.js';
import { appendAuditInTransaction } from './audit-log.js';
import { updateConnectionDocument } from './connection-change.js';
import { type ConnectionDocument, connectionDocumentSchema } from './connection-document.js';
import { recordConnectionEvent } from './connection-events-outbox.js';
import { connectionRef, parseConnectionSnapshot, type StoredConnection } from './connection-reads.js';
import type { AuditActor } from './connection-refresh-writes.js';
import { canMove, eventForMove } from './connection-status.js';

export type HealthRecord = ConnectionDocument['health'];

export interface HealthWrite {
  readonly health: HealthRecord;
  /** Set when the grant is dead: the connection moves to needs_reauth for this reason. */
  readonly needsReauthReason?: string;
}

export interface HealthWriteDependencies {
  readonly clock: Clock;
  readonly ids: IdSource;
}

/** The event reason of a health flip: `healthy`, or `unhealthy:<error code>`. */
export function healthReason(health: HealthRecord): string {
  return health.status === 'unhealthy' ? `unhealthy:${health.errorCode ?? 'unknown'}` : health.status;
}

/** Writes the check; returns the connection as stored after it, or undefined when it is gone or revoked meanwhile. */
export async function recordHealthCheck(
  firestore: Firestore,
  connectionId: string,
  write: HealthWrite,
  actor: AuditActor,
  dependencies: HealthWriteDependencies,
): Promise<StoredConnection | undefined> {
  const docRef = connectionRef(firestore, connectionId);
  return firestore.runTransaction(async (transaction) => {
    const stored = parseConnectionSnapshot(await transaction.get(docRef));
    // A revoke or reconnect that happened during the check decides; the check's result is stale.
    if (stored === undefined || stored.document.status === 'revoked') return stored;
    if (stored.document.status === 'needs_reauth') {
      // Already waiting for the user (the refresh this check tried said so, with its event): record the check only.
      updateConnectionDocument(transaction, docRef, { health: write.health });
      return { id: stored.id, document: { ...stored.document, health: write.health } };
    }
    const { tenantId, userId, provider, status } = stored.document;
    const previous = stored.document.health.status;
    const changes: Partial<ConnectionDocument> = { health: write.health };
    if (write.needsReauthReason !== undefined) {
      if (!canMove(status, 'needs_reauth')) {
        throw new BrokerError('internal', 'A health check attempted a status move the state machine forbids', {
          details: { connectionId, fromStatus: status, toStatus: 'needs_reauth' },
        });
      }
      const type = eventForMove(status, 'needs_reauth');
      if (type !== undefined) {
        recordConnectionEvent(
          firestore,
          transaction,
          { type, tenantId, userId, provider, connectionId, fromStatus: status, toStatus: 'needs_reauth', reason: write.needsReauthReason },
          dependencies,
        );
      }
      appendAuditInTransaction(
        firestore,
        transaction,
        { action: 'connection.needs_reauth', actor, tenantId, userId, provider, connectionId, outcome: 'failure', reason: write.needsReauthReason },
        dependencies,
      );
      Object.assign(changes, {
        status: 'needs_reauth',
        statusReason: write.needsReauthReason,
        nextRefreshAtMs: null,
        updatedAtMs: dependencies.clock.nowMs(),
      } satisfies Partial<ConnectionDocument>);
    } else if (previous !== write.health.status && !(previous === 'unknown' && write.health.status === 'healthy')) {
      // A first check that finds the grant fine is no news; every other flip is, recovery included.
      recordConnectionEvent(
        firestore,
        transaction,
        { type: 'connection.health_changed', tenantId, userId, provider, connectionId, fromStatus: status, toStatus: status, reason: healthReason(write.health) },
        dependencies,
      );
    }
    if (write.health.status === 'unhealthy') {
      appendAuditInTransaction(
        firestore,
        transaction,
        { action: 'connection.health_checked', actor, tenantId, userId, provider, connectionId, outcome: 'failure', reason: write.health.errorCode },
        dependencies,
      );
    }
    const document = connectionDocumentSchema.parse({ ...stored.document, ...changes });
    updateConnectionDocument(transaction, docRef, changes as UpdateData<ConnectionDocument>);
    return { id: stored.id, document };
  });
}
