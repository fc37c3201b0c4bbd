// The token read: caller policy first, then the connection, its scopes, and a token fresh for the caller's margin.
//
// Auditing: denials are written to the Firestore audit log (rare, and what an investigation needs first).
// Successful and failed reads are one structured `audit.token_read` log line each, with the caller's
// identity: Cloud Logging keeps them durably (and can route them to a bucket or BigQuery) without adding a
// Firestore write, and its latency and cost, to every read. State changes a read causes (a refresh, a move
// to needs_reauth) are audited in Firestore in the same transaction as the change.
import type { Firestore } from '@google-cloud/firestore';
import type { CallerPolicy } from '../../auth/caller-policy.js';
import type { VerifiedCaller } from '../../auth/id-token-verifier.js';
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import type { Logger } from '../../log/logger.js';
import { appendAudit } from '../../store/audit-log.js';
import type { Clock } from '../../time/clock.js';
import type { IdSource } from '../../time/ids.js';
import type { RefreshEngine, RequestEffects } from '../refresh/refresh-engine.js';
import type { ConnectionSource } from './connection-source.js';
import { findConnection } from './find-connection.js';
import type { TokenRequest, TokenResponse } from './token-request.js';

export interface ReadTokenDependencies {
  readonly firestore: Firestore;
  /** Where connections are found: Firestore, or the instance's coherent cache (connection-cache.ts). */
  readonly connections: ConnectionSource;
  readonly engine: RefreshEngine;
  readonly callerPolicy: CallerPolicy;
  readonly defaultMinValidityMs: number;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
}

/** Scopes the caller requires that the connection was not granted. */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  const have = new Set(granted);
  return [...new Set(required)].filter((scope) => !have.has(scope));
}

function insufficientScope(connectionId: string, provider: string, missing: readonly string[]): BrokerError {
  return new BrokerError(
    'insufficient_scope',
    'The connection lacks required scopes: run the connect flow (authorize) again for this user, requesting them',
    { details: { connectionId, provider, missingScopes: missing, action: 'reconnect_with_scopes' } },
  );
}

async function auditDenial(dependencies: ReadTokenDependencies, caller: VerifiedCaller, request: TokenRequest): Promise<void> {
  try {
    await appendAudit(
      dependencies.firestore,
      {
        action: 'token.denied',
        actor: { type: 'service_account', id: caller.email },
        tenantId: request.tenantId,
        userId: request.userId ?? null,
        provider: request.provider,
        connectionId: null,
        outcome: 'denied',
        reason: 'caller_not_allowed',
      },
      dependencies,
    );
  } catch (error) {
    // The refusal stands either way; a lost audit entry is logged with everything it would have held.
    dependencies.logger.error('audit.write_failed', 'A token denial could not be written to the audit log', {
      callerEmail: caller.email,
      tenantId: request.tenantId,
      provider: request.provider,
      error,
    });
  }
}

/** `effects` travels with this one request: it learns whether the read changed the connection's state. */
export async function readToken(
  dependencies: ReadTokenDependencies,
  caller: VerifiedCaller,
  request: TokenRequest,
  effects?: RequestEffects,
): Promise<TokenResponse> {
  const userId = request.userId ?? null;
  const auditFields = { callerEmail: caller.email, tenantId: request.tenantId, userId, provider: request.provider };
  // Policy before any read: a caller learns nothing about tenants and providers it may not use.
  try {
    dependencies.callerPolicy.authorize(caller.email, { action: 'read_token', tenantId: request.tenantId, provider: request.provider });
  } catch (error) {
    await auditDenial(dependencies, caller, request);
    dependencies.logger.notice('audit.token_read', 'Token read denied', { ...auditFields, outcome: 'denied', errorCode: 'caller_not_allowed' });
    throw error;
  }
  let connectionId: string | null = null;
  try {
    const connection = await findConnection(dependencies.connections, { ...request, userId });
    connectionId = connection.id;
    const required = request.requiredScopes ?? [];
    const missingBefore = missingScopes(connection.document.scopes, required);
    // Scopes only grow by reconnecting: refreshing cannot add a missing one, so refuse before any refresh.
    if (missingBefore.length > 0) throw insufficientScope(connection.id, request.provider, missingBefore);
    const fresh = await dependencies.engine.freshCredentials(connection, {
      minValidityMs: request.minValiditySeconds === undefined ? dependencies.defaultMinValidityMs : request.minValiditySeconds * 1000,
      actor: { type: 'service_account', id: caller.email },
      ...(effects === undefined ? {} : { effects }),
    });
    const { document } = fresh.connection;
    // A refresh may narrow the grant (the user removed a permission at the provider).
    const missingAfter = missingScopes(document.scopes, required);
    if (missingAfter.length > 0) throw insufficientScope(connection.id, request.provider, missingAfter);
    dependencies.logger.info('audit.token_read', 'Token read', { ...auditFields, connectionId, outcome: 'success' });
    return {
      accessToken: fresh.credentials.accessToken,
      tokenType: 'Bearer',
      expiresAt: document.expiresAtMs === null ? null : new Date(document.expiresAtMs).toISOString(),
      scopes: document.scopes,
      connectionId: fresh.connection.id,
      providerAccountId: document.providerAccountId,
      metadata: document.metadata,
    };
  } catch (error) {
    dependencies.logger.info('audit.token_read', 'Token read failed', {
      ...auditFields,
      connectionId,
      outcome: 'failure',
      errorCode: isBrokerError(error) ? error.code : 'internal',
    });
    throw error;
  }
}
