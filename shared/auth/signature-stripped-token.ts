// Checks every claim of an ID token whose signature Cloud Run removed after its IAM check: all but the signature.
import { z } from 'zod';
import { GOOGLE_ID_TOKEN_ISSUERS } from '../config/config.js';
import { type Clock, systemClock } from '../time/clock.js';
import { rejectCaller } from './caller-rejection.js';
import { checkIdTokenClaims, type IdTokenClaims, idTokenClaimsSchema, type VerifiedCaller } from './id-token-claims.js';
import { DEFAULT_CLOCK_SKEW_SECONDS, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from './id-token-verifier.js';

/** What Cloud Run puts in place of the signature of the token it checked. */
export const REMOVED_SIGNATURE = 'SIGNATURE_REMOVED_BY_GOOGLE';
const MAX_TOKEN_LENGTH = 8192;
const base64urlSegment = /^[A-Za-z0-9_-]+$/;

const headerSchema = z.object({ alg: z.literal('RS256'), kid: z.string().min(1) });

export interface SignatureStrippedClaimOptions {
  readonly audiences: readonly string[];
  readonly clock?: Clock;
  readonly clockSkewSeconds?: number;
  readonly maxTokenLifetimeSeconds?: number;
}

export function isSignatureStripped(token: string): boolean {
  const segments = token.split('.');
  return segments.length === 3 && segments[2] === REMOVED_SIGNATURE;
}

function decodeSegment(segment: string): unknown {
  if (!base64urlSegment.test(segment)) throw new Error('not base64url');
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

/**
 * The claim checks of the signature verifier, on a token only IAM could have verified: Google's issuer (IAM accepts
 * no other), one of our audiences, the same lifetime and skew rules, a verified email. The caller must have proven
 * that IAM guards the service before trusting the result; on its own this proves nothing about who sent the token.
 */
export function checkSignatureStrippedClaims(token: string, options: SignatureStrippedClaimOptions): VerifiedCaller {
  if (options.audiences.length === 0) throw new TypeError('audiences must list at least one audience');
  if (token.length > MAX_TOKEN_LENGTH || !isSignatureStripped(token)) throw rejectCaller('malformed_token');
  const [headerSegment = '', payloadSegment = ''] = token.split('.');
  let header: unknown;
  let claims: IdTokenClaims;
  try {
    header = decodeSegment(headerSegment);
    claims = idTokenClaimsSchema.parse(decodeSegment(payloadSegment));
  } catch {
    throw rejectCaller('malformed_token');
  }
  // Google signs its ID tokens with RS256 only; a token claiming anything else did not come through IAM as such.
  if (!headerSchema.safeParse(header).success) throw rejectCaller('unsupported_algorithm');
  const clock = options.clock ?? systemClock;
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const maxLifetime = options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  return checkIdTokenClaims(claims, {
    issuers: GOOGLE_ID_TOKEN_ISSUERS,
    audiences: options.audiences,
    nowSeconds: clock.nowMs() / 1000,
    clockSkewSeconds: skew,
    maxLifetimeSeconds: maxLifetime,
  });
}
