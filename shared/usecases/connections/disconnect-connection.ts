// Disconnect: revoke the grant at the provider, then destroy the sealed credentials whatever the provider said (a transient failure is retried later).
import { z } from 'zod';
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import type { ProviderDefinition } from '../../providers/definition-schema.js';
import { openCredentials } from '../../store/connection-credentials.js';
import type { Credentials } from '../../store/connection-document.js';
import { readConnection, type StoredConnection } from '../../store/connection-reads.js';
import { type Actor, type ProviderRevocationResult, revokeConnection } from '../../store/connection-writes.js';
import type { StoredPendingRevocation } from '../../store/pending-revocations.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { attemptProviderRevocation, type ProviderAttempt, pendingRevocationFor } from './revocation-attempt.js';

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

async function revokeAtProvider(runtime: BrokerRuntime, connection: StoredConnection): Promise<ProviderAttempt> {
  const { document } = connection;
  // A pasted API key belongs to the customer's provider account (only its owner revokes it there); an
  // app-only token has no refresh token and dies with its short lifetime.
  if (document.kind === 'api_key') return { result: { outcome: 'not_supported', reason: 'api_key_revoked_by_owner' } };
  if (document.kind === 'client_credentials') return { result: { outcome: 'not_supported', reason: 'app_token_expires' } };
  if (document.credentials === null) return { result: { outcome: 'failed', reason: 'no_credentials' } };
  let provider: ProviderDefinition;
  let credentials: Credentials;
  try {
    provider = runtime.catalog.resolve(document.provider);
    credentials = await openCredentials(runtime.vault(), document.credentials, { connectionId: connection.id, tenantId: document.tenantId });
  } catch (error) {
    return { result: { outcome: 'failed', reason: isBrokerError(error) ? error.code : 'internal' } };
  }
  return attemptProviderRevocation(runtime, provider, document.connectionConfig, credentials);
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
  const attempt: ProviderAttempt =
    connection.document.status === 'revoked' ? { result: { outcome: 'already_revoked' } } : await revokeAtProvider(runtime, connection);
  let providerRevocation = attempt.result;
  let pending: StoredPendingRevocation | undefined;
  try {
    const { document } = connection;
    pending = await pendingRevocationFor(runtime, { ...document, connectionId: connection.id }, attempt);
  } catch (error) {
    // Without a sealed token nothing can be retried: the credentials are destroyed all the same, and the answer says so.
    providerRevocation = { outcome: 'failed', reason: isBrokerError(error) ? error.code : 'internal' };
  }
  try {
    const result = await revokeConnection(
      runtime.firestore(),
      {
        connectionId,
        actor,
        providerRevocation,
        ...(pending === undefined ? {} : { pendingRevocation: { record: pending, maxAgeMs: runtime.config.sweeps.pendingRevocationMaxAgeMs } }),
      },
      runtime,
    );
    if (result.destroyedCredentials !== null) runtime.vault().forget(result.destroyedCredentials);
    // Someone revoked it meanwhile, and owns whatever their provider call left to do.
    if (pending !== undefined && !result.pendingRevocationStored) providerRevocation = { outcome: 'already_revoked' };
  } finally {
    // The drain unwraps the key again when it retries; this process keeps no copy of it.
    if (pending !== undefined) runtime.vault().forget(pending.document.token);
  }
  return { connectionId, status: 'revoked', credentialsDestroyed: true, providerRevocation };
}
