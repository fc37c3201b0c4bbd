// Every connection, newest first by creation (stable while paging, unlike updatedAtMs, which every refresh moves),
// the id breaking ties, filtered by equality on the fields an operator filters by.
import type { Firestore } from '@google-cloud/firestore';
import { collectionNames } from './collections.js';
import { parseConnectionSnapshot, type StoredConnection } from './connection-reads.js';
import { declareQuery, documentNameField } from './query-shape.js';

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
export const connectionsNewestFirst = declareQuery({
  name: 'connectionsNewestFirst',
  collection: collectionNames.connections,
  filters: [
    { field: 'tenantId', operator: '==', optional: true },
    { field: 'userId', operator: '==', optional: true },
    { field: 'provider', operator: '==', optional: true },
    { field: 'status', operator: '==', optional: true },
    { field: 'health.status', operator: '==', optional: true },
  ],
  orders: [
    { field: 'createdAtMs', direction: 'desc' },
    { field: documentNameField, direction: 'desc' },
  ],
});

export async function readConnectionsNewestFirst(
  firestore: Firestore,
  filters: ConnectionFilters,
  after: ConnectionListPosition | undefined,
  limit: number,
): Promise<StoredConnection[]> {
  const { tenantId, userId, provider, status, health } = filters;
  let query = connectionsNewestFirst.build(firestore, { tenantId, userId, provider, status, 'health.status': health });
  if (after !== undefined) query = query.startAfter(...after);
  const snapshot = await query.limit(limit).get();
  return snapshot.docs.map((doc) => parseConnectionSnapshot(doc)).filter((c): c is StoredConnection => c !== undefined);
}
