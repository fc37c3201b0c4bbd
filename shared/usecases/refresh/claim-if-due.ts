// The sweep's claim: decide whether a connection is still due and take its refresh lease in one transaction.
//
// The lease is lease.ts's (same field, same rules: a live lease of someone else is left alone, taking it over
// bumps the fencing version), so a sweep and a token read exclude each other exactly as two reads do. Deciding
// inside the same transaction spares the sweep a read before the claim and a re-read after it: what it decides
// on is what it leased, and the fence (`updatedAtMs`) starts from that very document.
import type { Firestore } from '@google-cloud/firestore';
import { isBrokerError, BrokerError } from '../../errors/broker-error.js';
import { connectionRef, parseConnectionSnapshot, type StoredConnection } from '../../store/connection-reads.js';
import type { Lease } from '../../store/lease.js';
import type { Clock } from '../../time/clock.js';

export type ClaimIfDueResult<Skip extends string> =
  | { readonly claimed: true; readonly connection: StoredConnection; readonly version: number }
  | { readonly claimed: false; readonly reason: Skip | 'gone' };

export interface ClaimIfDueOptions<Skip extends string> {
  readonly holder: string;
  readonly ttlMs: number;
  readonly clock: Clock;
  /** 'refresh', or why not; sees the document as stored, its lease included. */
  readonly decide: (connection: StoredConnection, nowMs: number) => 'refresh' | Skip;
}

const grpcAborted = 10;
const grpcTransientCodes: ReadonlySet<number> = new Set([4, 8, 14]);

export async function claimIfDue<Skip extends string>(
  firestore: Firestore,
  connectionId: string,
  options: ClaimIfDueOptions<Skip>,
): Promise<ClaimIfDueResult<Skip>> {
  const docRef = connectionRef(firestore, connectionId);
  try {
    return await firestore.runTransaction(async (transaction): Promise<ClaimIfDueResult<Skip>> => {
      const stored = parseConnectionSnapshot(await transaction.get(docRef));
      if (stored === undefined) return { claimed: false, reason: 'gone' };
      // Read inside the transaction: a retried attempt judges due-ness and lease expiry afresh.
      const nowMs = options.clock.nowMs();
      const decision = options.decide(stored, nowMs);
      if (decision !== 'refresh') return { claimed: false, reason: decision };
      const lease: Lease = { holder: options.holder, expiresAtMs: nowMs + options.ttlMs, version: (stored.document.lease?.version ?? 0) + 1 };
      transaction.update(docRef, { lease });
      return { claimed: true, connection: { id: stored.id, document: { ...stored.document, lease } }, version: lease.version };
    });
  } catch (error) {
    if (isBrokerError(error)) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    if (code === grpcAborted) {
      throw new BrokerError('conflict', 'The connection kept changing concurrently; retry', { cause: error, details: { connectionId } });
    }
    if (typeof code === 'number' && grpcTransientCodes.has(code)) {
      throw new BrokerError('storage_unavailable', 'Firestore is unavailable; retry later', { cause: error, details: { connectionId } });
    }
    throw error;
  }
}
