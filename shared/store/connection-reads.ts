// Reads of connection documents, each validated by the one schema.
import type { DocumentSnapshot, Firestore, Timestamp } from '@google-cloud/firestore';
import { collectionNames } from './collections.js';
import { type ConnectionDocument, connectionDocumentSchema } from './connection-document.js';
import { parseStoredDocument } from './stored-document.js';
import { declareQuery } from './query-shape.js';

export interface StoredConnection {
  readonly id: string;
  readonly document: ConnectionDocument;
  /**
   * The stored version this copy was read at (Firestore's update time), when it was read from Firestore: a write
   * decided on this copy can be made conditional on it instead of reading the document again.
   */
  readonly updateTime?: Timestamp;
}

/** Parses a snapshot; a document that fails the schema is corrupt data, reported without its contents. */
export function parseConnectionSnapshot(snapshot: DocumentSnapshot): StoredConnection | undefined {
  if (!snapshot.exists) return undefined;
  const document = parseStoredDocument(connectionDocumentSchema, 'connection', `connection ${snapshot.id}`, snapshot.data());
  return snapshot.updateTime === undefined ? { id: snapshot.id, document } : { id: snapshot.id, document, updateTime: snapshot.updateTime };
}

export function connectionRef(firestore: Firestore, connectionId: string) {
  return firestore.collection(collectionNames.connections).doc(connectionId);
}

export async function readConnection(firestore: Firestore, connectionId: string): Promise<StoredConnection | undefined> {
  return parseConnectionSnapshot(await connectionRef(firestore, connectionId).get());
}

export const userConnections = declareQuery({
  name: 'userConnections',
  collection: collectionNames.connections,
  filters: [
    { field: 'tenantId', operator: '==' },
    { field: 'userId', operator: '==' },
    { field: 'provider', operator: '==', optional: true },
  ],
});

/** A user's connections to one provider (or all providers), revoked ones excluded. */
export async function listUserConnections(
  firestore: Firestore,
  filter: { tenantId: string; userId: string | null; provider?: string },
): Promise<StoredConnection[]> {
  const snapshot = await userConnections.build(firestore, filter).get();
  return snapshot.docs
    .map((doc) => parseConnectionSnapshot(doc))
    .filter((connection): connection is StoredConnection => connection !== undefined && connection.document.status !== 'revoked');
}
