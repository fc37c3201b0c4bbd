// Every Firestore query the broker runs, by name: the index check compares their shapes with firestore.indexes.json,
// and a test fails when a query declared in shared/store is missing here.
import { connectionAuditNewestFirst } from './audit-log.js';
import { flowByStartToken } from './auth-flows.js';
import { allConnections, connectionsWithHealthAmongStatuses, connectionsWithStatus, providerConnectionsWithStatus } from './connection-counts.js';
import { unpublishedEventsOldestFirst } from './connection-events-outbox.js';
import { connectionsNewestFirst } from './connection-listing.js';
import { userConnections } from './connection-reads.js';
import { changedConnectionsAndOwnBeat } from './connection-watch.js';
import { dueParkedGrants } from './parked-grants.js';
import { duePendingRevocations } from './pending-revocations.js';
import type { DeclaredQuery } from './query-shape.js';
import { connectionsById, rewrapJobsWithStatus } from './rewrap-jobs.js';
import { statsSnapshotsNewestFirst } from './stats-snapshots.js';
import { connectionsByLastHealthCheck, connectionsDueForRefresh } from './sweep-queries.js';

export const declaredQueries: readonly DeclaredQuery[] = [
  connectionAuditNewestFirst,
  flowByStartToken,
  allConnections,
  connectionsWithStatus,
  providerConnectionsWithStatus,
  connectionsWithHealthAmongStatuses,
  unpublishedEventsOldestFirst,
  connectionsNewestFirst,
  userConnections,
  changedConnectionsAndOwnBeat,
  dueParkedGrants,
  duePendingRevocations,
  connectionsById,
  rewrapJobsWithStatus,
  statsSnapshotsNewestFirst,
  connectionsDueForRefresh,
  connectionsByLastHealthCheck,
];
