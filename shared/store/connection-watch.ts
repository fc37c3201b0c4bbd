// One real-time listener per token-function instance that hears of every connection change, and proves it is
// current: the token cache (shared/usecases/token/connection-cache.ts) serves an entry only while this listener
// vouches that nothing newer has been written.
//
// The query is a collection-group query over `connections` matching
// - every connection document whose change stamp (connection-change.ts: the commit time, on Firestore's clock) is
//   after `since` — each write to a connection therefore arrives as a change;
// - this instance's own heartbeat document, `watchHeartbeats/{instanceId}/connections/beat`, which the instance
//   rewrites every few hundred milliseconds. Its echo arrives on the same stream, in commit order, after every change
//   committed before it: an echo of a beat sent at T proves every connection write committed before T has arrived.
//   A heartbeat listener of its own would prove nothing about this stream (the client gives each listener its own
//   stream and silently re-opens one that breaks), hence the one query.
// Heartbeat documents carry a change stamp at the epoch: a query with a range filter only matches documents holding
// the field, and the epoch keeps every other instance's heartbeats out of the first half of the query.
import { type DocumentData, type Firestore, type QueryDocumentSnapshot, Timestamp } from '@google-cloud/firestore';
import { CHANGE_STAMP_FIELD } from './connection-change.js';
import { collectionNames, ttlFields } from './collections.js';
import { declareQuery } from './query-shape.js';

/** What the cache needs to know of a changed connection: which lookups it may touch. */
export interface ChangedConnection {
  readonly id: string;
  /** Missing when the document does not carry them (corrupt data): only lookups by id are matched then. */
  readonly tenantId: unknown;
  readonly userId: unknown;
  readonly provider: unknown;
}

export interface ConnectionChangeHandlers {
  /**
   * One consistent snapshot: the connections changed in it (its first one lists every connection changed since
   * `since`), and the newest heartbeat sequence it holds, if any. Changes come before the echo that vouches for them.
   */
  readonly onSnapshot: (changed: readonly ChangedConnection[], echoedBeat: number | undefined, watchedDocuments: number) => void;
  /** The listener is gone for good (permission, a permanent error): nothing it vouched for stands. */
  readonly onError: (error: unknown) => void;
}

export interface ConnectionChangeWatch {
  /** Writes heartbeat `sequence`; its echo arrives through `onSnapshot`. */
  beat(sequence: number, nowMs: number): Promise<void>;
  stop(): void;
}

/** How long a heartbeat document outlives its instance before Firestore's TTL policy removes it. */
const HEARTBEAT_RETENTION_MS = 24 * 60 * 60 * 1000;
const HEARTBEAT_OWNER_FIELD = 'beatOf' as const;

export function heartbeatRef(firestore: Firestore, instanceId: string) {
  return firestore.collection(collectionNames.watchHeartbeats).doc(instanceId).collection(collectionNames.connections).doc('beat');
}

function changedConnection(document: QueryDocumentSnapshot<DocumentData>): ChangedConnection {
  const data = document.data();
  return { id: document.id, tenantId: data.tenantId, userId: data.userId, provider: data.provider };
}

export const changedConnectionsAndOwnBeat = declareQuery({
  name: 'changedConnectionsAndOwnBeat',
  collection: collectionNames.connections,
  scope: 'COLLECTION_GROUP',
  anyOf: [
    { field: CHANGE_STAMP_FIELD, operator: '>' },
    { field: HEARTBEAT_OWNER_FIELD, operator: '==' },
  ],
});

export function watchConnectionChanges(
  firestore: Firestore,
  watch: { readonly instanceId: string; readonly sinceMs: number },
  handlers: ConnectionChangeHandlers,
): ConnectionChangeWatch {
  const beatRef = heartbeatRef(firestore, watch.instanceId);
  const query = changedConnectionsAndOwnBeat.build(firestore, {
    [CHANGE_STAMP_FIELD]: Timestamp.fromMillis(watch.sinceMs),
    [HEARTBEAT_OWNER_FIELD]: watch.instanceId,
  });
  const stop = query.onSnapshot((snapshot) => {
    const changed: ChangedConnection[] = [];
    let echoedBeat: number | undefined;
    for (const change of snapshot.docChanges()) {
      if (change.doc.ref.path === beatRef.path) {
        const sequence: unknown = change.doc.get('sequence');
        if (change.type !== 'removed' && typeof sequence === 'number') echoedBeat = sequence;
      } else if (change.doc.ref.parent.parent === null) {
        // A top-level `connections` document; another instance's heartbeat (matched on neither half) never arrives.
        changed.push(changedConnection(change.doc));
      }
    }
    handlers.onSnapshot(changed, echoedBeat, snapshot.size);
  }, handlers.onError);
  return {
    beat: async (sequence, nowMs) => {
      await beatRef.set({
        [HEARTBEAT_OWNER_FIELD]: watch.instanceId,
        sequence,
        [CHANGE_STAMP_FIELD]: Timestamp.fromMillis(0),
        [ttlFields.connections]: new Date(nowMs + HEARTBEAT_RETENTION_MS),
      });
    },
    stop,
  };
}
