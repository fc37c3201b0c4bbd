// Revoking a grant the broker is letting go of (a disconnect, a connect its product did not confirm): one attempt now,
// with brief retries, and for a provider that stays down the token sealed in a pending revocation the refresh sweep retries.
import { isBrokerError } from '../../errors/broker-error.js';
import type { ConnectionConfig } from '../../providers/connection-config.js';
import type { ProviderDefinition } from '../../providers/definition-schema.js';
import type { ProviderRevocationResult } from '../../store/connection-writes.js';
import { type PendingRevocation, type RevocationToken, sealRevocationToken, type StoredPendingRevocation } from '../../store/pending-revocations.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { revocationRetryDelayMs, revokeWithToken, type TokensToRevoke, tokenToRevoke } from './provider-revocation-call.js';

/** What the provider said, and for a transient failure the token to revoke again later. */
export interface ProviderAttempt {
  readonly result: ProviderRevocationResult;
  readonly retry?: { readonly token: RevocationToken; readonly retryAfterSeconds: number | undefined };
}

// A transient provider failure is first retried here, briefly, so most revocations finish at once; what still
// fails is handed to the refresh sweep with the token sealed in a pending revocation.
export const REVOCATION_ATTEMPTS = 3;
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

/** Revokes the grant these tokens belong to at the provider; never throws for what the provider says or does. */
export async function attemptProviderRevocation(
  runtime: BrokerRuntime,
  provider: ProviderDefinition,
  connectionConfig: ConnectionConfig,
  tokens: TokensToRevoke,
): Promise<ProviderAttempt> {
  const token = tokenToRevoke(provider, tokens);
  try {
    const outcome = await withRevocationRetries(() => revokeWithToken(runtime, provider, connectionConfig, tokens));
    return { result: outcome.outcome === 'not_supported' ? { outcome: 'not_supported', reason: 'provider_has_no_revocation' } : outcome };
  } catch (error) {
    const reason = isBrokerError(error) ? error.code : 'internal';
    // Only a provider that was down may answer later; one that refused the request will refuse it again.
    if (isBrokerError(error, 'provider_unavailable')) {
      return { result: { outcome: 'retry_scheduled', reason }, retry: { token, retryAfterSeconds: error.retryAfterSeconds } };
    }
    return { result: { outcome: 'failed', reason } };
  }
}

/** Whose grant a pending revocation ends: a connection's, or (connectionId null) one that never became a connection. */
export type RevocationOwner = Pick<PendingRevocation, 'tenantId' | 'userId' | 'provider' | 'connectionId' | 'connectionConfig'>;

/** Seals the token for a later retry under a fresh pending-revocation id; undefined when nothing is to be retried. */
export async function pendingRevocationFor(
  runtime: BrokerRuntime,
  owner: RevocationOwner,
  attempt: ProviderAttempt,
): Promise<StoredPendingRevocation | undefined> {
  if (attempt.retry === undefined) return undefined;
  const id = runtime.ids.newId();
  const nowMs = runtime.clock.nowMs();
  const token = await sealRevocationToken(runtime.vault(), attempt.retry.token, { id, tenantId: owner.tenantId });
  return {
    id,
    document: {
      tenantId: owner.tenantId,
      userId: owner.userId,
      provider: owner.provider,
      connectionId: owner.connectionId,
      token,
      connectionConfig: { ...owner.connectionConfig },
      attempts: REVOCATION_ATTEMPTS,
      nextAttemptAtMs: nowMs + revocationRetryDelayMs(1, attempt.retry.retryAfterSeconds, Math.random),
      lastErrorCode: attempt.result.outcome === 'retry_scheduled' ? attempt.result.reason : null,
      createdAtMs: nowMs,
    },
  };
}
