// The operator's reads: a filtered, cursor-paginated list of every connection, and one connection with its audit trail.
import { z } from 'zod';
import { BrokerError } from '../../errors/broker-error.js';
import { readConnectionAudit } from '../../store/audit-log.js';
import { positionOf, readConnectionsNewestFirst } from '../../store/connection-listing.js';
import { readConnection, type StoredConnection } from '../../store/connection-reads.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { adminConnectionView } from './admin-connection-view.js';
import type { AdminConnection, ListConnectionsQuery, connectionDetailSchema } from './admin-schemas.js';

/** The cursor is the last shown connection's place in the listing (creation time and id), opaque to the caller. */
const cursorSchema = z.tuple([z.number().int(), z.string().regex(/^conn_[0-9a-f]{30}$/)]);

export function encodeCursor(connection: StoredConnection): string {
  return Buffer.from(JSON.stringify(positionOf(connection)), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): z.infer<typeof cursorSchema> {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new BrokerError('invalid_request', 'The cursor is not one this API returned', { details: { fields: ['cursor'] } });
  }
}

export async function listAllConnections(
  runtime: BrokerRuntime,
  query: ListConnectionsQuery,
): Promise<{ connections: AdminConnection[]; nextCursor: string | null }> {
  const { cursor, limit, ...filters } = query;
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  // One more than asked: whether it comes says whether there is a next page.
  const page = await readConnectionsNewestFirst(runtime.firestore(), filters, after, limit + 1);
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
