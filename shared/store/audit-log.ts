// The audit log: one Firestore document per state change or admin action, never a secret, kept for a TTL.
import { type DocumentReference, type Firestore, Timestamp } from '@google-cloud/firestore';
import type { AtomicWrites } from './atomic-writes.js';
import { z } from 'zod';
import type { Clock } from '../time/clock.js';
import type { IdSource } from '../time/ids.js';
import { collectionNames, ttlFields } from './collections.js';
import { declareQuery } from './query-shape.js';

export const auditActions = [
  'connection.connected',
  'connection.reconnected',
  'connection.refreshed',
  'connection.refresh_failed',
  'connection.needs_reauth',
  'connection.health_checked',
  'connection.revoked',
  'connection.revocation_failed',
  'connection.provider_revocation_completed',
  'connection.provider_revocation_abandoned',
  'flow.started',
  'flow.failed',
  /** The grant is parked until the product confirms its user (docs/connect-confirmation.md). */
  'flow.awaiting_confirmation',
  'flow.confirmed',
  /** The product named another user: the grant was discarded and revoked at the provider. */
  'flow.confirmation_refused',
  /** Nobody confirmed in time: the grant was discarded and revoked at the provider. */
  'flow.confirmation_expired',
  'token.read',
  'token.denied',
  /** A proxy call the caller's API rules do not allow; nothing was sent to the provider. */
  'proxy.denied',
  'admin.action',
] as const;
export type AuditAction = (typeof auditActions)[number];

export const auditActorTypes = ['service_account', 'user_browser', 'operator', 'scheduler', 'system'] as const;

export const auditEntrySchema = z
  .object({
    action: z.enum(auditActions),
    actor: z.object({ type: z.enum(auditActorTypes), id: z.string().nullable() }).strict(),
    tenantId: z.string().nullable(),
    userId: z.string().nullable(),
    provider: z.string().nullable(),
    connectionId: z.string().nullable(),
    outcome: z.enum(['success', 'failure', 'denied']),
    /** A stable code or short reason; never free text from a provider. */
    reason: z.string().max(200).nullable(),
    atMs: z.number().int(),
  })
  .strict();
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** How long audit entries live before Firestore's TTL policy (field `expireAt`) removes them. */
export const AUDIT_RETENTION_DAYS = 400;

export interface AuditWriter {
  readonly clock: Clock;
  readonly ids: IdSource;
}

function auditDocument(entry: Omit<AuditEntry, 'atMs'>, writer: AuditWriter) {
  const atMs = writer.clock.nowMs();
  const parsed = auditEntrySchema.parse({ ...entry, atMs });
  return { ...parsed, [ttlFields.auditLog]: Timestamp.fromMillis(atMs + AUDIT_RETENTION_DAYS * 24 * 3600 * 1000) };
}

function newAuditRef(firestore: Firestore, writer: AuditWriter): DocumentReference {
  return firestore.collection(collectionNames.auditLog).doc(writer.ids.newId());
}

/** Adds the entry to the writes of the change it describes (a transaction, a recorded unit): it commits with them. */
export function appendAuditInTransaction(
  firestore: Firestore,
  writes: AtomicWrites,
  entry: Omit<AuditEntry, 'atMs'>,
  writer: AuditWriter,
): void {
  writes.create(newAuditRef(firestore, writer), auditDocument(entry, writer));
}

export async function appendAudit(firestore: Firestore, entry: Omit<AuditEntry, 'atMs'>, writer: AuditWriter): Promise<void> {
  await newAuditRef(firestore, writer).create(auditDocument(entry, writer));
}

export const connectionAuditNewestFirst = declareQuery({
  name: 'connectionAuditNewestFirst',
  collection: collectionNames.auditLog,
  filters: [{ field: 'connectionId', operator: '==' }],
  orders: [{ field: 'atMs', direction: 'desc' }],
});

/** A connection's audit trail, newest first. */
export async function readConnectionAudit(firestore: Firestore, connectionId: string, limit = 50): Promise<AuditEntry[]> {
  const snapshot = await connectionAuditNewestFirst.build(firestore, { connectionId }).limit(limit).get();
  return snapshot.docs.map((doc) => {
    const { expireAt: _expireAt, ...rest } = doc.data();
    return auditEntrySchema.parse(rest);
  });
}
