// Discards a parked grant its product refused (another user) or never confirmed in time: revoked at the provider (a
// provider that stays down gets a pending revocation the refresh sweep retries), the sealed grant destroyed, audited.
import { isBrokerError } from '../../errors/broker-error.js';
import type { Logger } from '../../log/logger.js';
import type { Actor } from '../../store/connection-writes.js';
import {
  claimParkedGrantDiscard,
  type DiscardReason,
  finishParkedGrantDiscard,
  listDueParkedGrants,
  type StoredParkedGrant,
} from '../../store/parked-grants.js';
import type { StoredPendingRevocation } from '../../store/pending-revocations.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { openParkedGrant } from '../connect/park-connected-grant.js';
import { attemptProviderRevocation, type ProviderAttempt, pendingRevocationFor } from './revocation-attempt.js';

export interface DiscardOptions {
  readonly actor: Actor;
  readonly logger: Logger;
}

/** `deferred`: the grant could not be opened right now (KMS down); the sweep takes it up again once the claim lapses. */
export type DiscardOutcome = 'discarded' | 'skipped' | 'deferred';

/** Longer than one discard can take (a KMS open, a revocation with its retries, the write), so a live discard keeps its claim. */
const CLAIM_MS = 5 * 60_000;

/** Claims the parked grant for this reason and discards it; `skipped` when it is confirmed, finished, or being discarded elsewhere. */
export async function discardParkedGrant(runtime: BrokerRuntime, id: string, reason: DiscardReason, options: DiscardOptions): Promise<DiscardOutcome> {
  const nowMs = runtime.clock.nowMs();
  const claimed = await claimParkedGrantDiscard(runtime.firestore(), id, { reason, nowMs, leaseUntilMs: nowMs + CLAIM_MS });
  return claimed === undefined ? 'skipped' : revokeAndFinish(runtime, claimed, options);
}

async function revokeAtProvider(runtime: BrokerRuntime, parked: StoredParkedGrant, options: DiscardOptions): Promise<ProviderAttempt | undefined> {
  const { document } = parked;
  try {
    const provider = runtime.catalog.resolve(document.provider);
    const grant = await openParkedGrant(runtime.vault(), parked);
    return await attemptProviderRevocation(runtime, provider, document.connectionConfig, grant);
  } catch (error) {
    const code = isBrokerError(error) ? error.code : 'internal';
    // A grant that does not open, or whose provider is gone from the catalog, never will be revocable; anything else
    // (KMS unavailable) may pass, so the grant stays claimed and the sweep tries again.
    if (code === 'crypto_integrity' || code === 'unknown_provider') return { result: { outcome: 'failed', reason: code } };
    options.logger.warn('connect.discard_deferred', 'A parked grant could not be opened for revocation; the sweep retries', {
      tenantId: document.tenantId,
      provider: document.provider,
      errorCode: code,
    });
    return undefined;
  }
}

async function revokeAndFinish(runtime: BrokerRuntime, parked: StoredParkedGrant, options: DiscardOptions): Promise<DiscardOutcome> {
  const { document } = parked;
  const attempt = await revokeAtProvider(runtime, parked, options);
  if (attempt === undefined) return 'deferred';
  let providerRevocation = attempt.result;
  let pending: StoredPendingRevocation | undefined;
  try {
    pending = await pendingRevocationFor(runtime, { ...document, connectionId: null }, attempt);
  } catch (error) {
    // Without a sealed token nothing can be retried: the grant is destroyed all the same, and the audit says so.
    providerRevocation = { outcome: 'failed', reason: isBrokerError(error) ? error.code : 'internal' };
  }
  const expired = document.discardReason === 'expired';
  const reason = 'reason' in providerRevocation ? `${providerRevocation.outcome}:${providerRevocation.reason}` : providerRevocation.outcome;
  const vault = runtime.vault();
  try {
    const destroyed = await finishParkedGrantDiscard(
      runtime.firestore(),
      parked,
      {
        nowMs: runtime.clock.nowMs(),
        audit: {
          action: expired ? 'flow.confirmation_expired' : 'flow.confirmation_refused',
          actor: options.actor,
          outcome: expired ? 'failure' : 'denied',
          reason,
        },
        ...(pending === undefined ? {} : { pendingRevocation: { record: pending, maxAgeMs: runtime.config.sweeps.pendingRevocationMaxAgeMs } }),
      },
      runtime,
    );
    if (destroyed !== null) vault.forget(destroyed);
  } finally {
    // The sweep unwraps the key again when it retries; this process keeps no copy of it.
    if (pending !== undefined) vault.forget(pending.document.token);
  }
  const fields = { tenantId: document.tenantId, userId: document.userId, provider: document.provider, outcome: providerRevocation.outcome, reason };
  if (expired) options.logger.info('connect.confirmation_expired', 'Nobody confirmed the connect flow in time; its grant was discarded', fields);
  else options.logger.warn('connect.confirmation_refused', 'The product confirmed another user; the grant was discarded', fields);
  return 'discarded';
}

export interface UnconfirmedGrantsReport {
  readonly discarded: number;
  /** Confirmed or taken by another run meanwhile, or not reached before the deadline. */
  readonly skipped: number;
  readonly deferred: number;
}

/** The refresh sweep's part: every parked grant past its deadline (or whose discard died) is discarded and revoked. */
export async function discardUnconfirmedGrants(
  runtime: BrokerRuntime,
  options: DiscardOptions & { readonly deadlineMs: number; readonly maxGrants?: number },
): Promise<UnconfirmedGrantsReport> {
  const maxGrants = options.maxGrants ?? 50;
  if (!(Number.isInteger(maxGrants) && maxGrants > 0)) throw new TypeError('maxGrants must be a positive integer');
  const counts = { discarded: 0, skipped: 0, deferred: 0 };
  for (const id of await listDueParkedGrants(runtime.firestore(), runtime.clock.nowMs(), maxGrants)) {
    if (runtime.clock.nowMs() >= options.deadlineMs) {
      counts.skipped += 1;
      continue;
    }
    counts[await discardParkedGrant(runtime, id, 'expired', options)] += 1;
  }
  return counts;
}
