// The one error type the broker throws on purpose: a stable code, a safe message, context in `cause`.
import { type ErrorCode, errorCodeTable } from './error-codes.js';

/** Fields safe to show a caller: never a secret, checked by the constructor's callers' tests. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | readonly string[] | null>>;

export interface BrokerErrorOptions {
  /** The underlying failure, for logs only: never sent to a client. */
  readonly cause?: unknown;
  /** Non-secret facts a caller can act on (e.g. the missing scopes, Retry-After seconds). */
  readonly details?: ErrorDetails;
  /** Seconds after which a retry makes sense, for retryable codes. */
  readonly retryAfterSeconds?: number;
}

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return errorCodeTable[this.code].status;
  }

  get retryable(): boolean {
    return errorCodeTable[this.code].retryable;
  }
}

export function isBrokerError(value: unknown, code?: ErrorCode): value is BrokerError {
  return value instanceof BrokerError && (code === undefined || value.code === code);
}
