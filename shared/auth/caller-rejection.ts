// How an unauthenticated caller is refused: one stable message for the caller, the reason for the logs only.
import { BrokerError } from '../errors/broker-error.js';

/** Why a caller was refused; logged (as the cause's `code`), never sent, so it is no oracle for probing. */
export const callerRejectionReasons = [
  'missing_authorization',
  'malformed_authorization',
  'signature_removed',
  'malformed_token',
  'unsupported_algorithm',
  'unknown_key',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'lifetime_too_long',
  'wrong_issuer',
  'wrong_audience',
  'email_missing',
  'email_unverified',
  'rejected',
] as const;
export type CallerRejectionReason = (typeof callerRejectionReasons)[number];

export const UNAUTHENTICATED_MESSAGE =
  'The caller could not be authenticated: send a Google ID token for this service as ' +
  '"Authorization: Bearer <token>" (and the same token in X-Serverless-Authorization on Cloud Run)';

/** The cause of an `unauthenticated` BrokerError. It never holds the token or any part of it. */
export class CallerRejection extends Error {
  override readonly name = 'CallerRejection';
  readonly code: CallerRejectionReason;

  constructor(reason: CallerRejectionReason) {
    super(`ID token rejected: ${reason}`);
    this.code = reason;
  }
}

export function rejectCaller(reason: CallerRejectionReason): BrokerError {
  return new BrokerError('unauthenticated', UNAUTHENTICATED_MESSAGE, { cause: new CallerRejection(reason) });
}
