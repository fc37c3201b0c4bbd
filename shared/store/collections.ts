// The Firestore collections the broker uses and their TTL fields: the single definition. Tests check that
// firestore.indexes.json (which Terraform reads for its TTL policies) and the rules tests cover exactly these.

export const firestoreCollections = [
  'connections',
  'authFlows',
  'auditLog',
  'callerPolicies',
  /** The outbox of connection events that could not be published to Pub/Sub yet. */
  'connectionEvents',
  /** Progress of jobs that re-wrap data keys under a new KMS key version. */
  'rewrapJobs',
  /** One small document per refresh or health sweep run: the history behind the dashboard's chart. */
  'statsSnapshots',
  /** Provider revocations that failed transiently at disconnect, each with its sealed token, retried by the refresh sweep. */
  'pendingRevocations',
  /** Grants a connect flow obtained, sealed, waiting for the product to confirm its user (docs/connect-confirmation.md). */
  'parkedGrants',
  /** Per token-function instance, its heartbeat document (in a `connections` subcollection) proving its cache's listener current. */
  'watchHeartbeats',
] as const;
export type FirestoreCollection = (typeof firestoreCollections)[number];

/** Code names a collection by its role, so a rename happens here and nowhere else. */
export const collectionNames = {
  connections: 'connections',
  authFlows: 'authFlows',
  auditLog: 'auditLog',
  callerPolicies: 'callerPolicies',
  connectionEvents: 'connectionEvents',
  rewrapJobs: 'rewrapJobs',
  statsSnapshots: 'statsSnapshots',
  pendingRevocations: 'pendingRevocations',
  parkedGrants: 'parkedGrants',
  watchHeartbeats: 'watchHeartbeats',
} as const satisfies Readonly<Record<string, FirestoreCollection>>;

// Every listed collection has a role, and (by `satisfies` above) every role names a listed one: they cannot drift.
type UnnamedCollection = Exclude<FirestoreCollection, (typeof collectionNames)[keyof typeof collectionNames]>;
const _everyCollectionHasARole: [UnnamedCollection] extends [never] ? true : UnnamedCollection = true;

/**
 * The Timestamp field each TTL-retained collection expires by. Firestore deletes a document some time
 * (up to about a day) after this moment, so code must still check expiry itself; the TTL only bounds storage.
 */
export const ttlFields = {
  authFlows: 'expiresAt',
  auditLog: 'expireAt',
  connectionEvents: 'expireAt',
  statsSnapshots: 'expireAt',
  pendingRevocations: 'expireAt',
  parkedGrants: 'expireAt',
  // Only the token cache's heartbeat documents (watchHeartbeats/{instance}/connections/beat, connection-watch.ts)
  // carry this field; TTL policies apply per collection group, and theirs is `connections`.
  connections: 'heartbeatExpireAt',
} as const satisfies Readonly<Partial<Record<FirestoreCollection, string>>>;
