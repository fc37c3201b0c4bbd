// Retries the provider revocations disconnect could not finish (RFC 7009 / RFC 9700: a revoked grant must die at the
// provider too): each due one is claimed, tried once, then deleted, backed off, or given up after its maximum age.
import { isBrokerError } from '../../errors/broker-error.js';
import type { Logger } from '../../log/logger.js';
import type { Actor } from '../../store/connection-writes.js';
import {
  claimPendingRevocation,
  finishPendingRevocation,
  listDuePendingRevocations,
  openRevocationToken,
  reschedulePendingRevocation,
  type StoredPendingRevocation,
} from '../../store/pending-revocations.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { revocationRetryDelayMs, revokeWithToken, tokensFor } from './provider-revocation-call.js';

export interface RetryPendingRevocationsOptions {
  readonly actor: Actor;
  readonly logger: Logger;
  /** No attempt starts after this moment (the sweep's time budget). */
  readonly deadlineMs: number;
  /** At most this many attempts per run, so a provider outage never eats the refresh sweep's budget. */
  readonly maxAttempts?: number;
  /** Jitter source in [0, 1); Math.random by default. */
  readonly random?: () => number;
}

export interface PendingRevocationsReport {
  readonly completed: number;
  /** Failed again and backed off. */
  readonly rescheduled: number;
  /** Given up: older than the maximum age, or never revocable (the provider has no revocation, the token does not open). */
  readonly abandoned: number;
  /** Due ones this run did not reach, or that another run had claimed. */
  readonly skipped: number;
}

const DEFAULT_MAX_ATTEMPTS = 50;
/** Longer than one attempt can take (provider timeout plus a KMS open), so a claim never lapses under a live attempt. */
const CLAIM_MS = 5 * 60_000;

type AttemptOutcome = 'completed' | 'rescheduled' | 'abandoned';

export async function retryPendingRevocations(
  runtime: BrokerRuntime,
  options: RetryPendingRevocationsOptions,
): Promise<PendingRevocationsReport> {
  const firestore = runtime.firestore();
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!(Number.isInteger(maxAttempts) && maxAttempts > 0)) throw new TypeError('maxAttempts must be a positive integer');
  const counts = { completed: 0, rescheduled: 0, abandoned: 0, skipped: 0 };
  const { ids, unreadableIds } = await listDuePendingRevocations(firestore, runtime.clock.nowMs(), maxAttempts);
  if (unreadableIds.length > 0) {
    options.logger.error('revocation.pending_unreadable', 'Pending revocations with unreadable fields were left alone', {
      count: unreadableIds.length,
      connectionIds: unreadableIds.slice(0, 20),
    });
  }
  for (const id of ids) {
    const nowMs = runtime.clock.nowMs();
    if (nowMs >= options.deadlineMs) {
      counts.skipped += 1;
      continue;
    }
    const claimed = await claimPendingRevocation(firestore, id, { nowMs, leaseUntilMs: nowMs + CLAIM_MS });
    if (claimed === undefined) {
      counts.skipped += 1;
      continue;
    }
    counts[await attempt(runtime, claimed, options)] += 1;
  }
  return counts;
}

async function attempt(runtime: BrokerRuntime, pending: StoredPendingRevocation, options: RetryPendingRevocationsOptions): Promise<AttemptOutcome> {
  const { document } = pending;
  const ageMs = runtime.clock.nowMs() - document.createdAtMs;
  if (ageMs >= runtime.config.sweeps.pendingRevocationMaxAgeMs) {
    return abandon(runtime, pending, options, document.lastErrorCode ?? 'max_age_reached');
  }
  try {
    const provider = runtime.catalog.resolve(document.provider);
    const token = await openRevocationToken(runtime.vault(), pending);
    const outcome = await revokeWithToken(runtime, provider, document.connectionConfig, tokensFor(token));
    if (outcome.outcome === 'not_supported') return await abandon(runtime, pending, options, 'provider_has_no_revocation');
    await finish(runtime, pending, options, { action: 'connection.provider_revocation_completed', outcome: 'success', reason: outcome.outcome });
    return 'completed';
  } catch (error) {
    const code = isBrokerError(error) ? error.code : 'internal';
    // A token that no longer opens will never open; every other failure (provider down, KMS down, a client secret
    // the operator is about to fix) may pass, so it is retried until the maximum age.
    if (code === 'crypto_integrity') return abandon(runtime, pending, options, code);
    const retryAfterSeconds = isBrokerError(error) ? error.retryAfterSeconds : undefined;
    const delayMs = revocationRetryDelayMs(Math.max(1, document.attempts - 1), retryAfterSeconds, options.random ?? Math.random);
    await reschedulePendingRevocation(runtime.firestore(), pending.id, { nextAttemptAtMs: runtime.clock.nowMs() + delayMs, lastErrorCode: code });
    options.logger.info('revocation.retry_failed', 'A pending provider revocation failed again and is backed off', {
      provider: document.provider,
      connectionId: document.connectionId,
      tenantId: document.tenantId,
      errorCode: code,
      attempt: document.attempts,
      retryAfterSeconds: Math.ceil(delayMs / 1000),
    });
    return 'rescheduled';
  }
}

async function abandon(runtime: BrokerRuntime, pending: StoredPendingRevocation, options: RetryPendingRevocationsOptions, reason: string): Promise<AttemptOutcome> {
  const { document } = pending;
  await finish(runtime, pending, options, { action: 'connection.provider_revocation_abandoned', outcome: 'failure', reason });
  // An alert matches this event: the grant may still be live at the provider, and only its owner can end it now.
  options.logger.warn('revocation.abandoned', 'Gave up revoking a grant at the provider; it may still be live there', {
    provider: document.provider,
    connectionId: document.connectionId,
    tenantId: document.tenantId,
    errorCode: reason,
    attempt: document.attempts,
  });
  return 'abandoned';
}

async function finish(
  runtime: BrokerRuntime,
  pending: StoredPendingRevocation,
  options: RetryPendingRevocationsOptions,
  audit: { readonly action: 'connection.provider_revocation_completed' | 'connection.provider_revocation_abandoned'; readonly outcome: 'success' | 'failure'; readonly reason: string },
): Promise<void> {
  const deleted = await finishPendingRevocation(runtime.firestore(), pending, { ...audit, actor: options.actor }, runtime);
  if (deleted !== null) runtime.vault().forget(deleted);
}
