// Provider revocations still owed: the token to revoke sealed where it lies, claimed before each retry, deleted when done or given up.
import { type DocumentReference, type Firestore, Timestamp, type Transaction } from '@google-cloud/firestore';
import { z } from 'zod';
import { sealedBlobSchema } from '../crypto/sealed-blob.js';
import { openSealedJson, sealJson } from '../crypto/sealed-json.js';
import type { SealContext, SealedBlob, Vault } from '../crypto/vault.js';
import type { Clock } from '../time/clock.js';
import type { IdSource } from '../time/ids.js';
import { type AuditEntry, appendAuditInTransaction } from './audit-log.js';
import { collectionNames, ttlFields } from './collections.js';
import { firestoreFailure } from './firestore-failure.js';
import { declareQuery } from './query-shape.js';

export const PENDING_TOKEN_FIELD = 'token';

/** Firestore's TTL removes a document only this long after the drain should have given it up: a backstop, never the plan. */
const TTL_MARGIN_MS = 24 * 3600 * 1000;

/** The token revokeGrant sent, and which kind it is: enough to send the same request again. */
export const revocationTokenSchema = z
  .object({ token: z.string().min(1), hint: z.enum(['refresh_token', 'access_token']) })
  .strict();
export type RevocationToken = z.infer<typeof revocationTokenSchema>;

export const pendingRevocationSchema = z
  .object({
    tenantId: z.string().min(1),
    userId: z.string().nullable(),
    provider: z.string().min(1),
    /** Null for a grant discarded before it became a connection (a connect its product did not confirm). */
    connectionId: z.string().min(1).nullable(),
    [PENDING_TOKEN_FIELD]: sealedBlobSchema,
    /** Not secret (the connection document keeps it in the clear too); the revocation URL may need it. */
    connectionConfig: z.record(z.string(), z.string()),
    /** Attempts so far, the disconnect's own included. */
    attempts: z.number().int().nonnegative(),
    nextAttemptAtMs: z.number().int(),
    lastErrorCode: z.string().nullable(),
    createdAtMs: z.number().int(),
  })
  .strip();
export type PendingRevocation = z.infer<typeof pendingRevocationSchema>;

export interface StoredPendingRevocation {
  readonly id: string;
  readonly document: PendingRevocation;
}

export interface PendingRevocationWriter {
  readonly clock: Clock;
  readonly ids: IdSource;
}

/** The associated data of a pending revocation's token: pendingRevocations/<id>/token/<tenant>. */
export function pendingRevocationSealContext(id: string, tenantId: string): SealContext {
  return { collection: collectionNames.pendingRevocations, documentId: id, field: PENDING_TOKEN_FIELD, tenantId };
}

export async function sealRevocationToken(vault: Vault, token: RevocationToken, where: { id: string; tenantId: string }): Promise<SealedBlob> {
  return sealJson(vault, revocationTokenSchema, token, pendingRevocationSealContext(where.id, where.tenantId));
}

export async function openRevocationToken(vault: Vault, pending: StoredPendingRevocation): Promise<RevocationToken> {
  const context = pendingRevocationSealContext(pending.id, pending.document.tenantId);
  return openSealedJson(vault, pending.document.token, revocationTokenSchema, context, 'revocation token');
}

function pendingRef(firestore: Firestore, id: string): DocumentReference {
  return firestore.collection(collectionNames.pendingRevocations).doc(id);
}

function parsePending(id: string, data: unknown): StoredPendingRevocation | undefined {
  const parsed = pendingRevocationSchema.safeParse(data);
  return parsed.success ? { id, document: parsed.data } : undefined;
}

/** Creates the pending revocation inside the transaction that revokes the connection, so neither commits alone. */
export function schedulePendingRevocationInTransaction(
  firestore: Firestore,
  transaction: Transaction,
  pending: StoredPendingRevocation,
  maxAgeMs: number,
): void {
  const document = pendingRevocationSchema.parse(pending.document);
  transaction.create(pendingRef(firestore, pending.id), {
    ...document,
    [ttlFields.pendingRevocations]: Timestamp.fromMillis(document.createdAtMs + maxAgeMs + TTL_MARGIN_MS),
  });
}

export const duePendingRevocations = declareQuery({
  name: 'duePendingRevocations',
  collection: collectionNames.pendingRevocations,
  filters: [{ field: 'nextAttemptAtMs', operator: '<=' }],
  orders: [{ field: 'nextAttemptAtMs', direction: 'asc' }],
});

/** Ids of pending revocations due by `nowMs`, earliest first; unreadable ones are reported, not retried. */
export async function listDuePendingRevocations(
  firestore: Firestore,
  nowMs: number,
  limit: number,
): Promise<{ readonly ids: readonly string[]; readonly unreadableIds: readonly string[] }> {
  try {
    const snapshot = await duePendingRevocations.build(firestore, { nextAttemptAtMs: nowMs }).limit(limit).get();
    const ids: string[] = [];
    const unreadableIds: string[] = [];
    for (const doc of snapshot.docs) (parsePending(doc.id, doc.data()) === undefined ? unreadableIds : ids).push(doc.id);
    return { ids, unreadableIds };
  } catch (error) {
    throw firestoreFailure(error);
  }
}

/**
 * Claims a due pending revocation for one attempt: pushes its next attempt past `leaseUntilMs` in a transaction, so an
 * overlapping sweep reading it afterwards finds it not due and leaves it alone. Undefined when it is gone or not due.
 */
export async function claimPendingRevocation(
  firestore: Firestore,
  id: string,
  claim: { readonly nowMs: number; readonly leaseUntilMs: number },
): Promise<StoredPendingRevocation | undefined> {
  const ref = pendingRef(firestore, id);
  try {
    return await firestore.runTransaction(async (transaction) => {
      const snapshot = await transaction.get(ref);
      const pending = snapshot.exists ? parsePending(id, snapshot.data()) : undefined;
      if (pending === undefined || pending.document.nextAttemptAtMs > claim.nowMs) return undefined;
      const attempts = pending.document.attempts + 1;
      transaction.update(ref, { nextAttemptAtMs: claim.leaseUntilMs, attempts });
      return { id, document: { ...pending.document, attempts, nextAttemptAtMs: claim.leaseUntilMs } };
    });
  } catch (error) {
    throw firestoreFailure(error);
  }
}

/** After a failed attempt: when to try again and why it failed (a stable code, never provider text). */
export async function reschedulePendingRevocation(
  firestore: Firestore,
  id: string,
  next: { readonly nextAttemptAtMs: number; readonly lastErrorCode: string },
): Promise<void> {
  try {
    await pendingRef(firestore, id).update({ nextAttemptAtMs: next.nextAttemptAtMs, lastErrorCode: next.lastErrorCode });
  } catch (error) {
    throw firestoreFailure(error);
  }
}

/**
 * Deletes the pending revocation (its sealed token with it) together with the audit entry saying how it ended.
 * Returns the sealed token the caller forgets, or null when another run already finished it.
 */
export async function finishPendingRevocation(
  firestore: Firestore,
  pending: StoredPendingRevocation,
  audit: { readonly action: AuditEntry['action']; readonly actor: AuditEntry['actor']; readonly outcome: AuditEntry['outcome']; readonly reason: string },
  writer: PendingRevocationWriter,
): Promise<SealedBlob | null> {
  const ref = pendingRef(firestore, pending.id);
  try {
    return await firestore.runTransaction(async (transaction) => {
      if (!(await transaction.get(ref)).exists) return null;
      transaction.delete(ref);
      const { tenantId, userId, provider, connectionId } = pending.document;
      appendAuditInTransaction(firestore, transaction, { ...audit, tenantId, userId, provider, connectionId }, writer);
      return pending.document.token;
    });
  } catch (error) {
    throw firestoreFailure(error);
  }
}
