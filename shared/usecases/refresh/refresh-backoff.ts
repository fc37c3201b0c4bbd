// When to try a provider again after a retryable refresh failure: exponential backoff, jitter, and the provider's Retry-After.
export interface BackoffPolicy {
  /** The delay after the first failure, before jitter. */
  readonly baseMs: number;
  /** No computed delay exceeds this; a provider's Retry-After may, up to `maxRetryAfterMs`. */
  readonly maxMs: number;
  /** A Retry-After beyond this is treated as this: a provider cannot park a grant for days. */
  readonly maxRetryAfterMs?: number;
}

const DEFAULT_MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/**
 * The delay before the next attempt after `consecutiveFailures` failures (1 for the first). "Equal jitter":
 * half the exponential step is fixed and half random, so instances that failed together spread out
 * without any of them retrying almost at once. A Retry-After is a floor: never sooner than the provider asked.
 */
export function retryDelayMs(
  consecutiveFailures: number,
  retryAfterSeconds: number | undefined,
  policy: BackoffPolicy,
  random: () => number,
): number {
  if (!Number.isInteger(consecutiveFailures) || consecutiveFailures < 1) {
    throw new TypeError('consecutiveFailures must be a positive integer');
  }
  if (!(policy.baseMs > 0) || !(policy.maxMs >= policy.baseMs)) throw new TypeError('backoff needs 0 < baseMs <= maxMs');
  // 2^30 already exceeds any sane cap; bounding the exponent keeps the arithmetic finite.
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(consecutiveFailures - 1, 30));
  const unit = Math.min(Math.max(random(), 0), 1);
  const jittered = Math.round(step / 2 + (step / 2) * unit);
  if (retryAfterSeconds === undefined || !(retryAfterSeconds >= 0)) return jittered;
  const asked = Math.min(retryAfterSeconds * 1000, policy.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS);
  return Math.max(jittered, asked);
}
