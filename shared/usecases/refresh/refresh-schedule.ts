// When a connection's token needs refreshing: on a read (per the caller's margin) and for the sweep (nextRefreshAtMs).
import type { ConnectionDocument } from '../../store/connection-document.js';

/**
 * The sweep's next look at a connection after a successful refresh. Tokens without an expiry (the
 * provider's `never-expires-until-revoked` policy) get none: health checks watch those grants instead.
 * Expiries from a no-`expires_in` policy (`assume-lifetime`, `refresh-every`) are real expiries here, so
 * those providers are refreshed on that schedule rather than never.
 */
export function nextRefreshAtMs(expiresAtMs: number | null, nowMs: number, aheadMs: number): number | null {
  if (expiresAtMs === null) return null;
  // Short-lived tokens (lifetime below `aheadMs`) are due at half their remaining life, not at once.
  const remaining = expiresAtMs - nowMs;
  return nowMs + Math.max(Math.floor(remaining / 2), remaining - aheadMs, 0);
}

export type ReadDecision =
  /** The stored token is good for the caller's margin. */
  | { readonly kind: 'serve' }
  /** Refresh first (under the lease). */
  | { readonly kind: 'refresh' }
  /** Refreshing failed recently: no provider call before `retryAtMs`. Serve the token if it is still valid. */
  | { readonly kind: 'cooldown'; readonly retryAtMs: number; readonly tokenValid: boolean }
  | { readonly kind: 'needs_reauth' }
  | { readonly kind: 'revoked' };

export interface ReadDecisionInput {
  readonly nowMs: number;
  readonly minValidityMs: number;
  /**
   * A token refreshed this recently is served even when it is within the caller's margin (as long as it
   * has not expired): a caller asking for more validity than the provider ever grants must not turn every
   * read into a refresh.
   */
  readonly minRefreshIntervalMs: number;
}

export function decideRead(
  document: Pick<ConnectionDocument, 'status' | 'credentials' | 'expiresAtMs' | 'nextRefreshAtMs' | 'refresh'>,
  input: ReadDecisionInput,
): ReadDecision {
  if (document.status === 'revoked' || document.credentials === null) return { kind: 'revoked' };
  if (document.status === 'needs_reauth') return { kind: 'needs_reauth' };
  const { expiresAtMs } = document;
  if (expiresAtMs === null || expiresAtMs - input.nowMs >= input.minValidityMs) return { kind: 'serve' };
  const tokenValid = expiresAtMs > input.nowMs;
  const { lastRefreshAtMs, consecutiveFailures } = document.refresh;
  if (tokenValid && lastRefreshAtMs !== null && input.nowMs - lastRefreshAtMs < input.minRefreshIntervalMs) return { kind: 'serve' };
  if (consecutiveFailures > 0 && document.nextRefreshAtMs !== null && document.nextRefreshAtMs > input.nowMs) {
    return { kind: 'cooldown', retryAtMs: document.nextRefreshAtMs, tokenValid };
  }
  return { kind: 'refresh' };
}
