// Lists a user's (or a tenant's app-level) connections, showing the caller only providers its policy covers.
import { z } from 'zod';
import { BrokerError } from '../../errors/broker-error.js';
import { listUserConnections } from '../../store/connection-reads.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { type ConnectionSummary, summarizeConnection } from './connection-summary.js';

export const listConnectionsQuerySchema = z
  .object({
    tenantId: z.string().min(1).max(256),
    /** Absent: the tenant-level connections (client credentials, tenant API keys). */
    userId: z.string().min(1).max(256).optional(),
    provider: z.string().min(1).max(64).optional(),
  })
  .strict();

export async function listConnections(runtime: BrokerRuntime, callerEmail: string, query: unknown): Promise<ConnectionSummary[]> {
  const parsed = listConnectionsQuerySchema.safeParse(query);
  if (!parsed.success) {
    throw new BrokerError('invalid_request', 'The list query is invalid', {
      details: { fields: [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(query)'))] },
    });
  }
  const { tenantId, userId, provider } = parsed.data;
  const mayManage = (id: string) => runtime.callerPolicy.allows(callerEmail, { action: 'manage_connections', tenantId, provider: id });
  if (provider !== undefined) {
    runtime.callerPolicy.authorize(callerEmail, { action: 'manage_connections', tenantId, provider });
  } else if (!runtime.catalog.providers.some((definition) => mayManage(definition.id))) {
    // Deny by default: a caller with no provider of this tenant is refused, not shown an empty list.
    runtime.callerPolicy.authorize(callerEmail, { action: 'manage_connections', tenantId });
  }
  const connections = await listUserConnections(runtime.firestore(), {
    tenantId,
    userId: userId ?? null,
    ...(provider === undefined ? {} : { provider }),
  });
  return connections.filter((connection) => mayManage(connection.document.provider)).map(summarizeConnection);
}
