// The one error the CLI reports for a failed admin call: the function's problem+json code and detail, or why it was not reached.

/** Failures on the CLI's side of the wire, beside the broker's own problem codes. */
export const cliFailureCodes = ['admin_unreachable', 'invalid_response', 'identity_token_failed', 'timeout'] as const;

export interface AdminApiErrorOptions {
  /** The HTTP status the function answered with; undefined when it was not reached. */
  readonly status?: number;
  readonly retryable?: boolean;
  readonly retryAfterSeconds?: number;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';
  /** A problem `code` of the admin function (e.g. `not_found`, `caller_not_allowed`) or one of cliFailureCodes. */
  readonly code: string;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options: AdminApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryable = options.retryable ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details ?? {};
  }
}

export function isAdminApiError(value: unknown, code?: string): value is AdminApiError {
  return value instanceof AdminApiError && (code === undefined || value.code === code);
}
