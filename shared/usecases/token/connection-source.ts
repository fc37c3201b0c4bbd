// Where a token read finds its connection: Firestore itself, or the instance's cache kept current by listeners.
import type { Firestore } from '@google-cloud/firestore';
import { listUserConnections, readConnection, type StoredConnection } from '../../store/connection-reads.js';

export interface UserConnectionsFilter {
  readonly tenantId: string;
  readonly userId: string | null;
  readonly provider: string;
}

export interface ConnectionSource {
  /** The document as it is now; undefined when there is none. */
  byId(connectionId: string): Promise<StoredConnection | undefined>;
  /** The user's connections to the provider as they are now, revoked ones excluded. */
  byUser(filter: UserConnectionsFilter): Promise<StoredConnection[]>;
}

export function firestoreConnectionSource(firestore: Firestore): ConnectionSource {
  return {
    byId: (connectionId) => readConnection(firestore, connectionId),
    byUser: (filter) => listUserConnections(firestore, filter),
  };
}
