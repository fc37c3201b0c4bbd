// The failure taxonomy: what a provider's error reply means for the broker (reauth, retry later, or give up).
import { BrokerError } from '../errors/broker-error.js';
import type { Clock } from '../time/clock.js';

/** Provider error codes are short identifiers; anything else is not echoed (it might carry a token). */
const safeErrorCode = /^[A-Za-z0-9_.:-]{1,64}$/;

export function safeProviderErrorCode(value: unknown): string | undefined {
  return typeof value === 'string' && safeErrorCode.test(value) ? value : undefined;
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3); absent or nonsense → undefined. */
export function parseRetryAfter(header: string | null, clock: Clock): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - clock.nowMs()) / 1000));
}

export interface FailureContext {
  /** Which call failed, for the message and details. */
  readonly operation: 'token' | 'refresh' | 'revocation' | 'identity' | 'discovery' | 'client_credentials' | 'oauth1';
  readonly provider: string;
  /** Error codes that mean the grant is dead (only consulted for refresh and identity calls). */
  readonly deadGrantErrors: readonly string[];
}

/** A 429 or 5xx: the provider is not answering usefully right now. */
export function unavailableFailure(status: number, headers: Headers, clock: Clock, context: FailureContext): BrokerError {
  const retryAfterSeconds = parseRetryAfter(headers.get('retry-after'), clock);
  return new BrokerError('provider_unavailable', `The provider failed the ${context.operation} call; retry later`, {
    details: { provider: context.provider, httpStatus: status, operation: context.operation },
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}

/** An error the provider stated (`error` code, or a 4xx): a dead grant needs the user; anything else is an error. */
export function statedFailure(status: number, errorCode: string | undefined, context: FailureContext): BrokerError {
  const details = {
    provider: context.provider,
    httpStatus: status,
    operation: context.operation,
    providerError: errorCode ?? null,
  };
  const grantBearing = context.operation === 'refresh' || context.operation === 'identity';
  if (grantBearing && errorCode !== undefined && context.deadGrantErrors.includes(errorCode)) {
    return new BrokerError('needs_reauth', 'The provider no longer accepts this grant; the user must reconnect', { details });
  }
  if (context.operation === 'identity' && status === 401) {
    return new BrokerError('needs_reauth', 'The provider rejected the access token; the user must reconnect', { details });
  }
  return new BrokerError('provider_error', `The provider rejected the ${context.operation} call`, { details });
}

/** A 2xx whose body is not what the provider documents. */
export function malformedFailure(context: FailureContext, cause?: unknown): BrokerError {
  return new BrokerError('provider_error', `The provider's ${context.operation} response is malformed`, {
    cause,
    details: { provider: context.provider, operation: context.operation, reason: 'malformed_response' },
  });
}

/** A reply larger than the broker reads: whatever it was meant to say, it is not a reply this broker can use. */
export function replyTooLargeFailure(where: { readonly provider: string; readonly origin: string }, limitBytes: number): BrokerError {
  return new BrokerError('provider_error', `The provider's reply is larger than the ${limitBytes} bytes the broker reads`, {
    details: { ...where, reason: 'response_too_large', limitBytes },
  });
}
