// What an operator can do to one connection: revoke it (the disconnect use case: provider revocation,
// crypto-shredding, event) and refresh it now (the refresh engine, under the same lease as every other refresh).
import type { z } from 'zod';
import type { Operator } from '../../auth/admin-operator.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { disconnectStoredConnection } from '../connections/disconnect-connection.js';
import type { RefreshEngine } from '../refresh/refresh-engine.js';
import { adminConnectionView } from './admin-connection-view.js';
import type { refreshResultSchema, revokeResultSchema } from './admin-schemas.js';
import { requireConnection } from './connection-queries.js';
import { operatorActor } from './operator-audit.js';

export async function revokeAsOperator(runtime: BrokerRuntime, operator: Operator, connectionId: string): Promise<z.infer<typeof revokeResultSchema>> {
  const connection = await requireConnection(runtime, connectionId);
  const result = await disconnectStoredConnection(runtime, connection, operatorActor(operator));
  const after = await requireConnection(runtime, connectionId);
  return { ...result, providerRevocation: { ...result.providerRevocation }, connection: adminConnectionView(after) };
}

export async function refreshAsOperator(
  runtime: BrokerRuntime,
  engine: RefreshEngine,
  operator: Operator,
  connectionId: string,
): Promise<z.infer<typeof refreshResultSchema>> {
  const before = await requireConnection(runtime, connectionId);
  const { kind, expiresAtMs } = before.document;
  // Tokens that live until revoked (API keys, OAuth 1, grants without expiry) have nothing to refresh; forcing
  // the engine would find no refresh token and call the grant dead.
  if (kind === 'api_key' || kind === 'oauth1' || expiresAtMs === null) {
    return { connectionId, outcome: 'skipped', reason: 'not_refreshable', connection: adminConnectionView(before) };
  }
  const result = await engine.refreshConnection(connectionId, { actor: operatorActor(operator), mode: { kind: 'force' } });
  const after = await requireConnection(runtime, connectionId);
  return {
    connectionId,
    outcome: result.outcome,
    reason: result.outcome === 'refreshed' ? null : result.reason,
    connection: adminConnectionView(after),
  };
}
