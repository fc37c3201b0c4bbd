// The one error for a failed call to a broker function: the broker's stable problem code, or why the broker was not reached.
import type { ErrorCode } from './wire.js';

/** Failures on the caller's side of the wire: nothing came back, or what came back was not the broker's. */
export const clientFailureCodes = ['broker_unreachable', 'invalid_response', 'identity_token_failed'] as const;
export type ClientFailureCode = (typeof clientFailureCodes)[number];

export type BrokerClientErrorCode = ErrorCode | ClientFailureCode;

export interface BrokerClientErrorOptions {
  readonly status?: number;
  readonly retryable?: boolean;
  readonly retryAfterSeconds?: number;
  /** The problem's `details`: e.g. `missingScopes` for insufficient_scope, `accountIds` for ambiguous_account. */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

/**
 * The token client throws it with BrokerClientErrorCode; the operator CLI (cli/admin-client.ts) with the admin
 * function's problem codes and its own failures (`admin_unreachable`, `timeout`...), hence the code parameter.
 */
export class BrokerClientError<Code extends string = BrokerClientErrorCode> extends Error {
  override readonly name = 'BrokerClientError';
  readonly code: Code;
  /** The HTTP status the broker answered with; undefined when it was not reached. */
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, options: BrokerClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryable = options.retryable ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details ?? {};
  }
}

export function isBrokerClientError(value: unknown, code?: BrokerClientErrorCode): value is BrokerClientError {
  return value instanceof BrokerClientError && (code === undefined || value.code === code);
}
