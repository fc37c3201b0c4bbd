// Backoff after retryable refresh failures: exponential, jittered, capped, and never sooner than Retry-After.
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../../../shared/usecases/refresh/refresh-backoff.js';

const policy = { baseMs: 30_000, maxMs: 3_600_000 };
const low = () => 0;
const high = () => 0.999_999;

describe('retryDelayMs', () => {
  it('doubles per consecutive failure, with jitter between half and all of the step', () => {
    expect(retryDelayMs(1, undefined, policy, low)).toBe(15_000);
    expect(retryDelayMs(1, undefined, policy, high)).toBe(30_000);
    expect(retryDelayMs(2, undefined, policy, low)).toBe(30_000);
    expect(retryDelayMs(3, undefined, policy, high)).toBe(120_000);
  });

  it('spreads instances that failed together', () => {
    const delays = new Set(Array.from({ length: 50 }, (_, index) => retryDelayMs(4, undefined, policy, () => index / 50)));
    expect(delays.size).toBe(50);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(120_000);
      expect(delay).toBeLessThanOrEqual(240_000);
    }
  });

  it('caps the step at maxMs however many failures piled up', () => {
    const capped = retryDelayMs(40, undefined, policy, high);
    expect(capped).toBeLessThanOrEqual(3_600_000);
    expect(capped).toBeGreaterThan(3_599_990);
    expect(retryDelayMs(1_000, undefined, policy, low)).toBe(1_800_000);
  });

  it('never retries sooner than the provider asked with Retry-After, even above the backoff cap', () => {
    expect(retryDelayMs(1, 120, policy, high)).toBe(120_000);
    expect(retryDelayMs(1, 5, policy, high)).toBe(30_000); // a shorter Retry-After does not cut the backoff
    expect(retryDelayMs(1, 7200, policy, low)).toBe(7_200_000);
  });

  it('bounds an absurd Retry-After', () => {
    expect(retryDelayMs(1, 10 * 365 * 24 * 3600, policy, low)).toBe(24 * 3600 * 1000);
    expect(retryDelayMs(1, 900, { ...policy, maxRetryAfterMs: 600_000 }, low)).toBe(600_000);
  });

  it('refuses nonsense input as a caller mistake', () => {
    expect(() => retryDelayMs(0, undefined, policy, low)).toThrow(TypeError);
    expect(() => retryDelayMs(1, undefined, { baseMs: 10, maxMs: 5 }, low)).toThrow(TypeError);
  });
});
