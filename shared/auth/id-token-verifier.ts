// Verifies a caller's Google-format ID token: RS256 signature against the issuer's published JWK set (jose), then the
// claim policy every Google ID token must pass (issuer, audience, lifetime, verified email).
import { z } from 'zod';
import { GOOGLE_ID_TOKEN_JWKS_URL } from '../config/config.js';
import { BrokerError } from '../errors/broker-error.js';
import { type Clock, systemClock } from '../time/clock.js';
import { type CallerRejectionReason, rejectCaller } from './caller-rejection.js';
import { checkIdTokenClaims, idTokenClaimsSchema, type VerifiedCaller } from './id-token-claims.js';
import { createSignedJwtVerifier, type SignedJwtFailure, SignedJwtRefusal, SigningKeysUnavailable } from './signed-jwt.js';

/** Clocks of caller and broker may differ this much; explicit and small. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;
/** Google's ID tokens (metadata server, Cloud Scheduler OIDC, IAM Credentials) live one hour. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 3600;
/** Google's ID tokens are about 1 KB; anything far larger is not one, and is not worth parsing. */
const MAX_TOKEN_LENGTH = 8192;

export interface IdTokenVerifierOptions {
  /** Accepted `aud` values: the service URL or custom audience each caller asks its token for. */
  readonly audiences: readonly string[];
  /** Accepted `iss` values: Google's two spellings in production, the local issuer's identifier locally. */
  readonly issuers: readonly string[];
  /** The issuers' JWK set; Google's by default. */
  readonly jwksUrl?: string;
  readonly clock?: Clock;
  readonly clockSkewSeconds?: number;
  readonly maxTokenLifetimeSeconds?: number;
}

export type { VerifiedCaller } from './id-token-claims.js';

export interface IdTokenVerifier {
  /** Resolves with the caller, or throws BrokerError `unauthenticated` (or `identity_unavailable`). */
  verify(idToken: string): Promise<VerifiedCaller>;
}

const headerSchema = z.object({ alg: z.string(), kid: z.string().min(1) });
const base64urlSegment = /^[A-Za-z0-9_-]+$/;

const callerReasons: Record<SignedJwtFailure, CallerRejectionReason> = {
  malformed: 'malformed_token',
  unsupported_algorithm: 'unsupported_algorithm',
  unknown_key: 'unknown_key',
  bad_signature: 'bad_signature',
  expired: 'expired',
  not_yet_valid: 'not_yet_valid',
  rejected: 'rejected',
};

function decodeSegment(segment: string): unknown {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

function keysUnavailable(cause: unknown): BrokerError {
  return new BrokerError('identity_unavailable', 'The ID-token signing keys could not be fetched; retry later', {
    cause,
    retryAfterSeconds: 5,
  });
}

/**
 * Fails at construction on bad options. There is deliberately no option that skips verification: locally
 * and in tests the same checks run against the local issuer's keys.
 */
export function createIdTokenVerifier(options: IdTokenVerifierOptions): IdTokenVerifier {
  if (options.audiences.length === 0) {
    throw new BrokerError('misconfigured', 'ID_TOKEN_AUDIENCES is required where callers are authenticated', {
      details: { variables: ['ID_TOKEN_AUDIENCES'] },
    });
  }
  if (options.audiences.some((audience) => !/^\S+$/.test(audience))) {
    throw new TypeError('audiences must be non-empty strings without whitespace');
  }
  if (options.issuers.length === 0 || options.issuers.some((issuer) => !/^\S+$/.test(issuer))) {
    throw new TypeError('issuers must list at least one issuer');
  }
  const clock = options.clock ?? systemClock;
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const maxLifetime = options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (!Number.isInteger(skew) || skew < 0 || skew > 300) throw new TypeError('clockSkewSeconds must be 0..300');
  if (!Number.isInteger(maxLifetime) || maxLifetime <= 0) throw new TypeError('maxTokenLifetimeSeconds must be > 0');
  // Google signs its ID tokens with RS256 only.
  const verifySignature = createSignedJwtVerifier({ jwksUrl: options.jwksUrl ?? GOOGLE_ID_TOKEN_JWKS_URL, algorithm: 'RS256', clock, clockSkewSeconds: skew });
  const audiences = [...options.audiences];

  return {
    async verify(idToken) {
      if (typeof idToken !== 'string' || idToken.length === 0 || idToken.length > MAX_TOKEN_LENGTH) {
        throw rejectCaller('malformed_token');
      }
      const segments = idToken.split('.');
      const [headerSegment = '', payloadSegment = '', signatureSegment = ''] = segments;
      // Cloud Run hands over the token it checked for IAM with this in place of the signature.
      if (segments.length === 3 && signatureSegment === 'SIGNATURE_REMOVED_BY_GOOGLE') {
        throw rejectCaller('signature_removed');
      }
      // Shape first, so a token that is not one is called malformed rather than badly signed.
      if (segments.length !== 3 || !segments.every((segment) => base64urlSegment.test(segment))) {
        throw rejectCaller('malformed_token');
      }
      try {
        headerSchema.parse(decodeSegment(headerSegment));
        decodeSegment(payloadSegment);
      } catch {
        throw rejectCaller('malformed_token');
      }

      let payload: unknown;
      try {
        payload = await verifySignature(idToken);
      } catch (error) {
        if (error instanceof SigningKeysUnavailable) throw keysUnavailable(error);
        if (error instanceof SignedJwtRefusal) throw rejectCaller(callerReasons[error.failure]);
        throw error;
      }
      const parsed = idTokenClaimsSchema.safeParse(payload);
      if (!parsed.success) throw rejectCaller('malformed_token');
      return checkIdTokenClaims(parsed.data, { issuers: options.issuers, audiences, nowSeconds: clock.nowMs() / 1000, clockSkewSeconds: skew, maxLifetimeSeconds: maxLifetime });
    },
  };
}
