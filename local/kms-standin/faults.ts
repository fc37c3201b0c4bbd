// Fault injection for the KMS stand-in: failing calls, added latency, and corruption in transit either way.
import type { status } from '@grpc/grpc-js';

/** Response fields a test can corrupt, per method, as a flaky network or proxy might. */
export interface ResponseCorruptions {
  Encrypt: 'ciphertext' | 'ciphertextCrc32c' | 'verifiedPlaintextCrc32c' | 'verifiedAdditionalAuthenticatedDataCrc32c' | 'name';
  Decrypt: 'plaintext' | 'plaintextCrc32c';
}

interface Failure {
  readonly code: status;
  readonly message: string;
  remaining: number;
}

export class KmsFaults {
  readonly #failures = new Map<string, Failure>();
  readonly #latencyMs = new Map<string, number>();
  readonly #requestCorruptions = new Map<string, number>();
  readonly #responseCorruptions = new Map<string, { field: string; remaining: number }>();

  /** The next `times` calls of `method` fail with `code` (then calls succeed again). */
  failNext(method: string, code: status, times = 1, message = `Injected failure of ${method}`): void {
    if (!Number.isInteger(times) || times < 1) throw new TypeError('times must be a positive integer');
    this.#failures.set(method, { code, message, remaining: times });
  }

  /** Every call of `method` fails with `code` until `clear()`. */
  failAll(method: string, code: status, message = `Injected failure of ${method}`): void {
    this.#failures.set(method, { code, message, remaining: Number.POSITIVE_INFINITY });
  }

  /** Delays every call of `method` (or of every method, with '*') by `ms` before it is handled. */
  setLatency(method: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError('ms must be a non-negative number');
    this.#latencyMs.set(method, ms);
  }

  /** Flips a bit of the next `times` requests' data on arrival, so their CRC32C no longer matches. */
  corruptNextRequest(method: 'Encrypt' | 'Decrypt', times = 1): void {
    this.#requestCorruptions.set(method, times);
  }

  /** Corrupts `field` in the next `times` successful responses of `method`. */
  corruptNextResponse<M extends keyof ResponseCorruptions>(method: M, field: ResponseCorruptions[M], times = 1): void {
    this.#responseCorruptions.set(method, { field, remaining: times });
  }

  clear(): void {
    this.#failures.clear();
    this.#latencyMs.clear();
    this.#requestCorruptions.clear();
    this.#responseCorruptions.clear();
  }

  /** @internal The injected failure for this call, if any (consumes one). */
  takeFailure(method: string): { code: status; message: string } | undefined {
    const failure = this.#failures.get(method);
    if (!failure) return undefined;
    failure.remaining -= 1;
    if (failure.remaining <= 0) this.#failures.delete(method);
    return { code: failure.code, message: failure.message };
  }

  /** @internal */
  latencyFor(method: string): number {
    return (this.#latencyMs.get(method) ?? 0) + (this.#latencyMs.get('*') ?? 0);
  }

  /** @internal */
  takeRequestCorruption(method: string): boolean {
    const remaining = this.#requestCorruptions.get(method) ?? 0;
    if (remaining <= 0) return false;
    this.#requestCorruptions.set(method, remaining - 1);
    return true;
  }

  /** @internal */
  takeResponseCorruption(method: string): string | undefined {
    const corruption = this.#responseCorruptions.get(method);
    if (!corruption || corruption.remaining <= 0) return undefined;
    corruption.remaining -= 1;
    return corruption.field;
  }
}
