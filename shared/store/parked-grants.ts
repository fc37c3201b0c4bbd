// Parked grants: what a connect flow obtained, sealed, until the product confirms its signed-in user, and the
// tombstone each leaves once confirmed or discarded.
//
// What is stored and why: the document id is SHA-256 of the one-time flow id the browser carried to the product, so
// a database dump names no id anyone could confirm with. The grant (tokens, account, scopes) is one sealed blob bound
// to this document and tenant; confirming or discarding removes it. States: `awaiting` (confirmable until
// `confirmByMs`) → `confirmed` (the connection was stored, in the same transaction) or → `discarding` (claimed for
// revocation at the provider) → `discarded`. `nextActionAtMs` is when the refresh sweep must act: the deadline while
// awaiting, the end of a discard's claim while discarding (so a discard that died is taken up again), null when done.
// Expiry is enforced here, in code; the TTL policy on `expireAt` only bounds storage.
import { type DocumentReference, type Firestore, Timestamp, type Transaction } from '@google-cloud/firestore';
import { z } from 'zod';
import { sealedBlobSchema } from '../crypto/sealed-blob.js';
import type { SealContext, SealedBlob } from '../crypto/vault.js';
import { BrokerError } from '../errors/broker-error.js';
import { type AuditEntry, appendAuditInTransaction, type AuditWriter } from './audit-log.js';
import { sha256Hex } from './auth-flows.js';
import { collectionNames, ttlFields } from './collections.js';
import { firestoreFailure } from './firestore-failure.js';
import { declareQuery } from './query-shape.js';
import { schedulePendingRevocationInTransaction, type StoredPendingRevocation } from './pending-revocations.js';
import { parseStoredDocument } from './stored-document.js';

/** The sealed field of a parked grant (part of its seal's associated data). */
export const PARKED_GRANT_FIELD = 'grant';

export const parkedGrantStates = ['awaiting', 'confirmed', 'discarding', 'discarded'] as const;
export const discardReasons = ['user_mismatch', 'expired'] as const;
export type DiscardReason = (typeof discardReasons)[number];

/** A storage bound only: the sweep discards an unconfirmed grant minutes after its deadline, long before this. */
const TTL_AFTER_DEADLINE_MS = 7 * 24 * 3600 * 1000;
/** How long a tombstone keeps answering "already used" to a repeated confirmation. */
const TOMBSTONE_TTL_MS = 24 * 3600 * 1000;

export const parkedGrantSchema = z
  .object({
    tenantId: z.string().min(1),
    /** The product's user the flow was started for: the only user a confirmation may name. */
    userId: z.string().min(1),
    provider: z.string().min(1),
    kind: z.enum(['oauth2', 'oauth1']),
    connectionConfig: z.record(z.string(), z.string()),
    state: z.enum(parkedGrantStates),
    /** Null once confirmed or discarded: nothing that could become a connection outlives its single use. */
    [PARKED_GRANT_FIELD]: sealedBlobSchema.nullable(),
    parkedAtMs: z.number().int(),
    confirmByMs: z.number().int(),
    nextActionAtMs: z.number().int().nullable(),
    discardReason: z.enum(discardReasons).nullable(),
    /** The connection the confirmation stored. */
    connectionId: z.string().min(1).nullable(),
    finishedAtMs: z.number().int().nullable(),
    [ttlFields.parkedGrants]: z.instanceof(Timestamp),
  })
  .strict();
export type ParkedGrant = z.infer<typeof parkedGrantSchema>;

export interface StoredParkedGrant {
  readonly id: string;
  readonly document: ParkedGrant;
}

/** The document id for a one-time flow id: the id itself is never stored. */
export function parkedGrantIdFor(flowId: string): string {
  return sha256Hex(flowId);
}

/** The associated data of a parked grant: parkedGrants/<id>/grant/<tenant>. */
export function parkedGrantSealContext(id: string, tenantId: string): SealContext {
  return { collection: collectionNames.parkedGrants, documentId: id, field: PARKED_GRANT_FIELD, tenantId };
}

function parkedRef(firestore: Firestore, id: string): DocumentReference {
  return firestore.collection(collectionNames.parkedGrants).doc(id);
}

function parseParked(id: string, data: unknown): StoredParkedGrant {
  return { id, document: parseStoredDocument(parkedGrantSchema, 'parked grant', `parked grant ${id.slice(0, 12)}`, data) };
}

type ParkedAudit = Pick<AuditEntry, 'action' | 'actor' | 'outcome' | 'reason'>;

function auditOf(parked: ParkedGrant, audit: ParkedAudit, connectionId: string | null): Omit<AuditEntry, 'atMs'> {
  return { ...audit, tenantId: parked.tenantId, userId: parked.userId, provider: parked.provider, connectionId };
}

export interface NewParkedGrant {
  readonly tenantId: string;
  readonly userId: string;
  readonly provider: string;
  readonly kind: ParkedGrant['kind'];
  readonly connectionConfig: Readonly<Record<string, string>>;
  readonly grant: SealedBlob;
  readonly parkedAtMs: number;
  readonly confirmByMs: number;
}

/** Stores the parked grant with its audit entry; both or neither. */
export async function createParkedGrant(firestore: Firestore, id: string, parked: NewParkedGrant, audit: ParkedAudit, writer: AuditWriter): Promise<void> {
  const document = parkedGrantSchema.parse({
    ...parked,
    connectionConfig: { ...parked.connectionConfig },
    state: 'awaiting',
    nextActionAtMs: parked.confirmByMs,
    discardReason: null,
    connectionId: null,
    finishedAtMs: null,
    [ttlFields.parkedGrants]: Timestamp.fromMillis(parked.confirmByMs + TTL_AFTER_DEADLINE_MS),
  });
  try {
    await firestore.runTransaction(async (transaction) => {
      transaction.create(parkedRef(firestore, id), document);
      appendAuditInTransaction(firestore, transaction, auditOf(document, audit, null), writer);
    });
  } catch (error) {
    throw firestoreFailure(error);
  }
}

export async function readParkedGrant(firestore: Firestore, id: string): Promise<StoredParkedGrant | undefined> {
  try {
    const snapshot = await parkedRef(firestore, id).get();
    return snapshot.exists ? parseParked(id, snapshot.data()) : undefined;
  } catch (error) {
    throw firestoreFailure(error);
  }
}

/** Why a parked grant can no longer be confirmed, as the product learns it. */
export function unconfirmableError(parked: ParkedGrant, nowMs: number): BrokerError | undefined {
  if (parked.state === 'discarded' || parked.state === 'discarding') {
    return parked.discardReason === 'expired'
      ? new BrokerError('flow_expired', 'This connect flow was not confirmed in time; its grant was discarded')
      : new BrokerError('flow_already_used', 'This connect flow was already refused');
  }
  if (parked.state === 'confirmed') return new BrokerError('flow_already_used', 'This connect flow was already confirmed');
  if (parked.confirmByMs <= nowMs) return new BrokerError('flow_expired', 'This connect flow was not confirmed in time');
  return undefined;
}

/**
 * Consumes the parked grant inside the transaction that stores its connection, so the connection exists exactly when
 * the grant left the parking: a second confirmation, or a sweep that discarded it meanwhile, makes the store abort.
 * Must run before the transaction writes anything (Firestore reads come first).
 */
export async function consumeParkedGrantInTransaction(
  firestore: Firestore,
  transaction: Transaction,
  input: { readonly id: string; readonly connectionId: string; readonly nowMs: number; readonly audit: ParkedAudit },
  writer: AuditWriter,
): Promise<void> {
  const ref = parkedRef(firestore, input.id);
  const snapshot = await transaction.get(ref);
  if (!snapshot.exists) throw new BrokerError('flow_not_found', 'This connect flow is unknown or has expired');
  const { document } = parseParked(input.id, snapshot.data());
  const refusal = unconfirmableError(document, input.nowMs);
  if (refusal !== undefined) throw refusal;
  transaction.update(ref, {
    state: 'confirmed',
    [PARKED_GRANT_FIELD]: null,
    nextActionAtMs: null,
    connectionId: input.connectionId,
    finishedAtMs: input.nowMs,
    [ttlFields.parkedGrants]: Timestamp.fromMillis(input.nowMs + TOMBSTONE_TTL_MS),
  });
  appendAuditInTransaction(firestore, transaction, auditOf(document, input.audit, input.connectionId), writer);
}

/**
 * Claims the parked grant for discarding: an awaiting one for this reason (an expiry only once its deadline passed),
 * or one whose earlier discard died (its claim lapsed). Pushes `nextActionAtMs` past `leaseUntilMs`, so an overlapping
 * sweep leaves it alone. Undefined when it is gone, confirmed, finished, or someone else is discarding it.
 */
export async function claimParkedGrantDiscard(
  firestore: Firestore,
  id: string,
  claim: { readonly reason: DiscardReason; readonly nowMs: number; readonly leaseUntilMs: number },
): Promise<StoredParkedGrant | undefined> {
  const ref = parkedRef(firestore, id);
  try {
    return await firestore.runTransaction(async (transaction) => {
      const snapshot = await transaction.get(ref);
      if (!snapshot.exists) return undefined;
      const { document } = parseParked(id, snapshot.data());
      const due = document.nextActionAtMs !== null && document.nextActionAtMs <= claim.nowMs;
      const takeOver = document.state === 'discarding' && due;
      const begin = document.state === 'awaiting' && (claim.reason !== 'expired' || document.confirmByMs <= claim.nowMs);
      if (!takeOver && !begin) return undefined;
      const discardReason = takeOver ? document.discardReason : claim.reason;
      const update = { state: 'discarding' as const, discardReason, nextActionAtMs: claim.leaseUntilMs };
      transaction.update(ref, update);
      return { id, document: { ...document, ...update } };
    });
  } catch (error) {
    throw firestoreFailure(error);
  }
}

/**
 * Ends a discard: the grant is removed (leaving a tombstone), its audit entry written, and, when the provider's
 * revocation must be retried, the pending revocation created: all in one transaction. Returns the sealed grant the
 * caller forgets, or null when another run already finished it.
 */
export async function finishParkedGrantDiscard(
  firestore: Firestore,
  parked: StoredParkedGrant,
  input: {
    readonly nowMs: number;
    readonly audit: ParkedAudit;
    readonly pendingRevocation?: { readonly record: StoredPendingRevocation; readonly maxAgeMs: number };
  },
  writer: AuditWriter,
): Promise<SealedBlob | null> {
  const ref = parkedRef(firestore, parked.id);
  try {
    return await firestore.runTransaction(async (transaction) => {
      const snapshot = await transaction.get(ref);
      if (!snapshot.exists) return null;
      const { document } = parseParked(parked.id, snapshot.data());
      if (document.state !== 'discarding') return null;
      transaction.update(ref, {
        state: 'discarded',
        [PARKED_GRANT_FIELD]: null,
        nextActionAtMs: null,
        finishedAtMs: input.nowMs,
        [ttlFields.parkedGrants]: Timestamp.fromMillis(input.nowMs + TOMBSTONE_TTL_MS),
      });
      appendAuditInTransaction(firestore, transaction, auditOf(document, input.audit, null), writer);
      if (input.pendingRevocation !== undefined) {
        schedulePendingRevocationInTransaction(firestore, transaction, input.pendingRevocation.record, input.pendingRevocation.maxAgeMs);
      }
      return document[PARKED_GRANT_FIELD];
    });
  } catch (error) {
    throw firestoreFailure(error);
  }
}

export const dueParkedGrants = declareQuery({
  name: 'dueParkedGrants',
  collection: collectionNames.parkedGrants,
  filters: [{ field: 'nextActionAtMs', operator: '<=' }],
  orders: [{ field: 'nextActionAtMs', direction: 'asc' }],
});

/** Ids of parked grants the sweep must act on by `nowMs` (deadline passed, or a discard's claim lapsed), earliest first. */
export async function listDueParkedGrants(firestore: Firestore, nowMs: number, limit: number): Promise<readonly string[]> {
  try {
    const snapshot = await dueParkedGrants.build(firestore, { nextActionAtMs: nowMs }).limit(limit).get();
    return snapshot.docs.map((doc) => doc.id);
  } catch (error) {
    throw firestoreFailure(error);
  }
}
