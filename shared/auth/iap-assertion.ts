// Verifies Identity-Aware Proxy's signed header (`X-Goog-IAP-JWT-Assertion`): ES256 signature against IAP's
// published JWK set (jose), exact audience and issuer, lifetime — so a request that bypassed IAP cannot pass for one.
import { z } from 'zod';
import { BrokerError } from '../errors/broker-error.js';
import { type Clock, systemClock } from '../time/clock.js';
import { createSignedJwtVerifier, type SignedJwtFailure, SignedJwtRefusal, SigningKeysUnavailable } from './signed-jwt.js';

export const IAP_ASSERTION_HEADER = 'x-goog-iap-jwt-assertion';

/** Why an assertion was refused; logged as the cause's `code`, never sent to the client. */
export const iapRejectionReasons = [
  'malformed_assertion',
  'unsupported_algorithm',
  'unknown_key',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'lifetime_too_long',
  'wrong_issuer',
  'wrong_audience',
  'email_missing',
  'iap_not_configured',
  /** Neither IAP's header nor an Authorization header. */
  'missing_credentials',
  'rejected',
] as const;
export type IapRejectionReason = (typeof iapRejectionReasons)[number];

/** The cause of an `unauthenticated` BrokerError from this module; it never holds the assertion. */
export class IapAssertionRejection extends Error {
  override readonly name = 'IapAssertionRejection';
  readonly code: IapRejectionReason;

  constructor(reason: IapRejectionReason) {
    super(`IAP assertion rejected: ${reason}`);
    this.code = reason;
  }
}

export const OPERATOR_UNAUTHENTICATED_MESSAGE =
  'The operator could not be authenticated: come through Identity-Aware Proxy, or send a Google ID token as "Authorization: Bearer <token>"';

export function rejectAssertion(reason: IapRejectionReason): BrokerError {
  return new BrokerError('unauthenticated', OPERATOR_UNAUTHENTICATED_MESSAGE, { cause: new IapAssertionRejection(reason) });
}

export interface IapAssertionVerifierOptions {
  /** `/projects/NUMBER/global/backendServices/ID` or `/projects/NUMBER/apps/PROJECT_ID`: compared exactly. */
  readonly audience: string;
  readonly issuer: string;
  /** IAP's public keys as a JWK set (https://www.gstatic.com/iap/verify/public_key-jwk). */
  readonly publicKeysUrl: string;
  readonly clock?: Clock;
  /** Kept small and explicit, as IAP's own guidance has it (30 s). */
  readonly clockSkewSeconds?: number;
  /** How long fetched keys are trusted before fetching again (IAP rotates them rarely). */
  readonly keysTtlMs?: number;
}

export interface VerifiedOperator {
  readonly email: string;
  readonly subject: string;
}

export interface IapAssertionVerifier {
  /** Resolves with the signed-in user, or throws BrokerError `unauthenticated` (or `identity_unavailable`). */
  verify(assertion: string): Promise<VerifiedOperator>;
}

// IAP assertions live 10 minutes; anything much longer was not minted by IAP.
const MAX_LIFETIME_SECONDS = 600;
const MAX_ASSERTION_LENGTH = 8192;

const headerSchema = z.object({ alg: z.string(), kid: z.string().min(1) });
const payloadSchema = z.object({
  iss: z.string(),
  aud: z.string(),
  sub: z.string().min(1),
  iat: z.number(),
  exp: z.number(),
  email: z.string().min(1).optional(),
});

const assertionReasons: Record<SignedJwtFailure, IapRejectionReason> = {
  malformed: 'malformed_assertion',
  unsupported_algorithm: 'unsupported_algorithm',
  unknown_key: 'unknown_key',
  bad_signature: 'bad_signature',
  expired: 'expired',
  not_yet_valid: 'not_yet_valid',
  rejected: 'rejected',
};

const segmentPattern = /^[A-Za-z0-9_-]+$/;

function keysUnavailable(): BrokerError {
  return new BrokerError('identity_unavailable', "Identity-Aware Proxy's public keys could not be fetched; retry later", {
    retryAfterSeconds: 5,
  });
}

/** Fails at construction on bad options; there is no option that skips verification. */
export function createIapAssertionVerifier(options: IapAssertionVerifierOptions): IapAssertionVerifier {
  if (!/^\/projects\/\d+\/(global\/backendServices\/\d+|apps\/[a-z][a-z0-9-]+)$/.test(options.audience)) {
    throw new TypeError('audience must be /projects/NUMBER/global/backendServices/ID or /projects/NUMBER/apps/PROJECT_ID');
  }
  if (!/^\S+$/.test(options.issuer)) throw new TypeError('issuer must be a non-empty string');
  const clock = options.clock ?? systemClock;
  const skew = options.clockSkewSeconds ?? 30;
  if (!Number.isInteger(skew) || skew < 0 || skew > 300) throw new TypeError('clockSkewSeconds must be 0..300');
  // IAP signs with ES256 only.
  const verifySignature = createSignedJwtVerifier({
    jwksUrl: options.publicKeysUrl,
    algorithm: 'ES256',
    clock,
    clockSkewSeconds: skew,
    keysMaxAgeMs: options.keysTtlMs ?? 3_600_000,
  });

  return {
    async verify(assertion) {
      if (typeof assertion !== 'string' || assertion.length === 0 || assertion.length > MAX_ASSERTION_LENGTH) {
        throw rejectAssertion('malformed_assertion');
      }
      const segments = assertion.split('.');
      if (segments.length !== 3 || !segments.every((segment) => segmentPattern.test(segment))) {
        throw rejectAssertion('malformed_assertion');
      }
      try {
        headerSchema.parse(JSON.parse(Buffer.from(segments[0] as string, 'base64url').toString('utf8')));
      } catch {
        throw rejectAssertion('malformed_assertion');
      }
      let payload: unknown;
      try {
        payload = await verifySignature(assertion);
      } catch (error) {
        if (error instanceof SigningKeysUnavailable) throw keysUnavailable();
        if (error instanceof SignedJwtRefusal) throw rejectAssertion(assertionReasons[error.failure]);
        throw error;
      }
      const parsed = payloadSchema.safeParse(payload);
      if (!parsed.success) throw rejectAssertion('malformed_assertion');
      const claims = parsed.data;
      if (claims.iss !== options.issuer) throw rejectAssertion('wrong_issuer');
      if (claims.aud !== options.audience) throw rejectAssertion('wrong_audience');
      const now = clock.nowMs() / 1000;
      if (claims.exp <= claims.iat) throw rejectAssertion('malformed_assertion');
      if (claims.exp - claims.iat > MAX_LIFETIME_SECONDS) throw rejectAssertion('lifetime_too_long');
      if (now > claims.exp + skew) throw rejectAssertion('expired');
      if (now < claims.iat - skew) throw rejectAssertion('not_yet_valid');
      if (claims.email === undefined) throw rejectAssertion('email_missing');
      return { email: claims.email, subject: claims.sub };
    },
  };
}
