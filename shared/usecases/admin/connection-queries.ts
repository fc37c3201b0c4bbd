// The operator's reads: a filtered, cursor-paginated list of every connection, and one connection with its audit trail.
import { FieldPath, type Query } from '@google-cloud/firestore';
import { z } from 'zod';
import { BrokerError } from '../../errors/broker-error.js';
import { readConnectionAudit } from '../../store/audit-log.js';
import { collectionNames } from '../../store/collections.js';
import { parseConnectionSnapshot, readConnection, type StoredConnection } from '../../store/connection-reads.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { adminConnectionView } from './admin-connection-view.js';
import type { AdminConnection, ListConnectionsQuery, connectionDetailSchema } from './admin-schemas.js';

/** Newest first, by creation (stable while paging, unlike updatedAt which every refresh moves); id breaks ties. */
const cursorSchema = z.tuple([z.number().int(), z.string().regex(/^conn_[0-9a-f]{30}$/)]);

export function encodeCursor(connection: StoredConnection): string {
  return Buffer.from(JSON.stringify([connection.document.createdAtMs, connection.id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): z.infer<typeof cursorSchema> {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new BrokerError('invalid_request', 'The cursor is not one this API returned', { details: { fields: ['cursor'] } });
  }
}

// Each equality filter is served with createdAtMs by its own composite index (firestore.indexes.json); Firestore
// merges them when several filters are combined, so five indexes cover every combination.
export async function listAllConnections(
  runtime: BrokerRuntime,
  query: ListConnectionsQuery,
): Promise<{ connections: AdminConnection[]; nextCursor: string | null }> {
  let firestoreQuery: Query = runtime.firestore().collection(collectionNames.connections);
  if (query.tenantId !== undefined) firestoreQuery = firestoreQuery.where('tenantId', '==', query.tenantId);
  if (query.userId !== undefined) firestoreQuery = firestoreQuery.where('userId', '==', query.userId);
  if (query.provider !== undefined) firestoreQuery = firestoreQuery.where('provider', '==', query.provider);
  if (query.status !== undefined) firestoreQuery = firestoreQuery.where('status', '==', query.status);
  if (query.health !== undefined) firestoreQuery = firestoreQuery.where('health.status', '==', query.health);
  firestoreQuery = firestoreQuery.orderBy('createdAtMs', 'desc').orderBy(FieldPath.documentId(), 'desc');
  if (query.cursor !== undefined) firestoreQuery = firestoreQuery.startAfter(...decodeCursor(query.cursor));
  const snapshot = await firestoreQuery.limit(query.limit + 1).get();
  const page = snapshot.docs.map((doc) => parseConnectionSnapshot(doc)).filter((c): c is StoredConnection => c !== undefined);
  const more = page.length > query.limit;
  const shown = page.slice(0, query.limit);
  const last = shown.at(-1);
  return { connections: shown.map(adminConnectionView), nextCursor: more && last !== undefined ? encodeCursor(last) : null };
}

export async function requireConnection(runtime: BrokerRuntime, connectionId: string): Promise<StoredConnection> {
  const connection = await readConnection(runtime.firestore(), connectionId);
  if (connection === undefined) throw new BrokerError('not_found', 'No such connection');
  return connection;
}

export const AUDIT_HISTORY_LIMIT = 100;

export async function connectionDetail(runtime: BrokerRuntime, connectionId: string): Promise<z.infer<typeof connectionDetailSchema>> {
  const connection = await requireConnection(runtime, connectionId);
  const audit = await readConnectionAudit(runtime.firestore(), connectionId, AUDIT_HISTORY_LIMIT);
  return {
    connection: adminConnectionView(connection),
    audit: audit.map((entry) => ({
      action: entry.action,
      actor: entry.actor,
      outcome: entry.outcome,
      reason: entry.reason,
      at: new Date(entry.atMs).toISOString(),
    })),
  };
}
