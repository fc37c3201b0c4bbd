// Token-bucket arithmetic (the rate-limiting algorithm, not an OAuth token): a bucket holds up to `requests` permits,
// refills evenly at `requests` per `perSeconds`, and each admitted request takes one. Pure: time is passed in.
import type { QuotaRate } from '../config/caller-quotas-schema.js';

export interface Bucket {
  /** Permits left, fractional between refills. */
  permits: number;
  /** When `permits` was last brought up to date. */
  updatedAtMs: number;
}

/** A bucket nobody has drawn from: full. */
export function fullBucket(rate: QuotaRate, nowMs: number): Bucket {
  return { permits: rate.requests, updatedAtMs: nowMs };
}

/** Brings the bucket's permits up to `nowMs`; a clock that went back refills nothing. */
export function refill(bucket: Bucket, rate: QuotaRate, nowMs: number): void {
  const elapsedMs = Math.max(0, nowMs - bucket.updatedAtMs);
  bucket.permits = Math.min(rate.requests, bucket.permits + (elapsedMs * rate.requests) / (rate.perSeconds * 1000));
  bucket.updatedAtMs = Math.max(bucket.updatedAtMs, nowMs);
}

/** How long until the (refilled) bucket holds a whole permit: 0 when it does now. */
export function msUntilPermit(bucket: Bucket, rate: QuotaRate): number {
  if (bucket.permits >= 1) return 0;
  const exactMs = ((1 - bucket.permits) * rate.perSeconds * 1000) / rate.requests;
  // Fractional permits carry floating-point dust (19 s of a permit per 20 s is 0.95 only nearly): round it off to the
  // microsecond before rounding up, or a wait of exactly 1000 ms would read as 1001.
  return Math.ceil(Math.round(exactMs * 1000) / 1000);
}
