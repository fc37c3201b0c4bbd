// Disconnect: revoke the grant at the provider, then destroy the sealed credentials whatever the provider said.
import { z } from 'zod';
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import { revokeGrant } from '../../oauth/revocation.js';
import { openCredentials } from '../../store/connection-credentials.js';
import { readConnection, type StoredConnection } from '../../store/connection-reads.js';
import { type Actor, type ProviderRevocationResult, revokeConnection } from '../../store/connection-writes.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { providerClient } from '../connect/provider-client.js';

export const disconnectRequestSchema = z
  .object({ tenantId: z.string().min(1).max(256), connectionId: z.string().regex(/^conn_[0-9a-f]{30}$/) })
  .strict();

export interface DisconnectResult {
  readonly connectionId: string;
  readonly status: 'revoked';
  /** Always true: the broker no longer holds any credential of this connection, whatever the provider said. */
  readonly credentialsDestroyed: true;
  readonly providerRevocation: ProviderRevocationResult;
}

async function revokeAtProvider(runtime: BrokerRuntime, connection: StoredConnection): Promise<ProviderRevocationResult> {
  const { document } = connection;
  // A pasted API key belongs to the customer's provider account (only its owner revokes it there); an
  // app-only token has no refresh token and dies with its short lifetime.
  if (document.kind === 'api_key') return { outcome: 'not_supported', reason: 'api_key_revoked_by_owner' };
  if (document.kind === 'client_credentials') return { outcome: 'not_supported', reason: 'app_token_expires' };
  if (document.credentials === null) return { outcome: 'failed', reason: 'no_credentials' };
  try {
    const provider = runtime.catalog.resolve(document.provider);
    const credentials = await openCredentials(runtime.vault(), document.credentials, { connectionId: connection.id, tenantId: document.tenantId });
    const revoke = () =>
      revokeGrant(runtime.oauth(), provider, {
        client: providerClient(runtime, provider),
        accessToken: credentials.accessToken,
        ...(credentials.refreshToken === undefined ? {} : { refreshToken: credentials.refreshToken }),
        connectionConfig: document.connectionConfig,
      });
    const outcome = await withRevocationRetries(revoke);
    return outcome.outcome === 'not_supported' ? { outcome: 'not_supported', reason: 'provider_has_no_revocation' } : outcome;
  } catch (error) {
    return { outcome: 'failed', reason: isBrokerError(error) ? error.code : 'internal' };
  }
}

// The credentials are destroyed right after this call, so a revocation cannot be retried later: retry a
// transient provider failure here, briefly, before giving up and reporting it.
const REVOCATION_ATTEMPTS = 3;
const REVOCATION_MAX_WAIT_MS = 2_000;

async function withRevocationRetries<T>(revoke: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await revoke();
    } catch (error) {
      if (!isBrokerError(error, 'provider_unavailable') || attempt >= REVOCATION_ATTEMPTS) throw error;
      const askedMs = (error.retryAfterSeconds ?? 0) * 1000;
      const backoffMs = 250 * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, Math.min(REVOCATION_MAX_WAIT_MS, Math.max(askedMs, backoffMs))));
    }
  }
}

export async function disconnectConnection(runtime: BrokerRuntime, callerEmail: string, body: unknown): Promise<DisconnectResult> {
  const parsed = disconnectRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new BrokerError('invalid_request', 'The disconnect request is invalid', {
      details: { fields: [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(body)'))] },
    });
  }
  const { tenantId, connectionId } = parsed.data;
  const connection = await readConnection(runtime.firestore(), connectionId);
  // Another tenant's connection is "not found", not "forbidden": ids reveal nothing across tenants.
  if (connection === undefined || connection.document.tenantId !== tenantId) {
    throw new BrokerError('not_found', 'No such connection');
  }
  runtime.callerPolicy.authorize(callerEmail, { action: 'manage_connections', tenantId, provider: connection.document.provider });
  return disconnectStoredConnection(runtime, connection, { type: 'service_account', id: callerEmail });
}

/** The disconnect itself, for a connection the actor was already allowed to manage (also the admin function's revoke). */
export async function disconnectStoredConnection(runtime: BrokerRuntime, connection: StoredConnection, actor: Actor): Promise<DisconnectResult> {
  const connectionId = connection.id;
  const providerRevocation: ProviderRevocationResult =
    connection.document.status === 'revoked' ? { outcome: 'already_revoked' } : await revokeAtProvider(runtime, connection);
  const result = await revokeConnection(runtime.firestore(), { connectionId, actor, providerRevocation }, runtime);
  if (result.destroyedCredentials !== null) runtime.vault().forget(result.destroyedCredentials);
  return { connectionId, status: 'revoked', credentialsDestroyed: true, providerRevocation };
}
