// Every connection, newest first by creation (stable while paging, unlike updatedAtMs, which every refresh moves),
// the id breaking ties, filtered by equality on the fields an operator filters by.
import { FieldPath, type Firestore, type Query } from '@google-cloud/firestore';
import { collectionNames } from './collections.js';
import { parseConnectionSnapshot, type StoredConnection } from './connection-reads.js';

export interface ConnectionFilters {
  readonly tenantId?: string;
  readonly userId?: string;
  readonly provider?: string;
  readonly status?: string;
  readonly health?: string;
}

/** Where a page starts: after this connection's creation time and id. */
export type ConnectionListPosition = readonly [createdAtMs: number, connectionId: string];

export const positionOf = (connection: StoredConnection): ConnectionListPosition => [connection.document.createdAtMs, connection.id];

// Each equality filter is served with createdAtMs by its own composite index (firestore.indexes.json); Firestore
// merges them when several filters are combined, so five indexes cover every combination.
export async function readConnectionsNewestFirst(
  firestore: Firestore,
  filters: ConnectionFilters,
  after: ConnectionListPosition | undefined,
  limit: number,
): Promise<StoredConnection[]> {
  let query: Query = firestore.collection(collectionNames.connections);
  if (filters.tenantId !== undefined) query = query.where('tenantId', '==', filters.tenantId);
  if (filters.userId !== undefined) query = query.where('userId', '==', filters.userId);
  if (filters.provider !== undefined) query = query.where('provider', '==', filters.provider);
  if (filters.status !== undefined) query = query.where('status', '==', filters.status);
  if (filters.health !== undefined) query = query.where('health.status', '==', filters.health);
  query = query.orderBy('createdAtMs', 'desc').orderBy(FieldPath.documentId(), 'desc');
  if (after !== undefined) query = query.startAfter(...after);
  const snapshot = await query.limit(limit).get();
  return snapshot.docs.map((doc) => parseConnectionSnapshot(doc)).filter((c): c is StoredConnection => c !== undefined);
}
