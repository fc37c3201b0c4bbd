// Checks every claim of an ID token whose signature Cloud Run removed after its IAM check: all but the signature.
import { z } from 'zod';
import { GOOGLE_ID_TOKEN_ISSUERS } from '../config/config.js';
import { type Clock, systemClock } from '../time/clock.js';
import { rejectCaller } from './caller-rejection.js';
import { DEFAULT_CLOCK_SKEW_SECONDS, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, type VerifiedCaller } from './id-token-verifier.js';

/** What Cloud Run puts in place of the signature of the token it checked. */
export const REMOVED_SIGNATURE = 'SIGNATURE_REMOVED_BY_GOOGLE';
const MAX_TOKEN_LENGTH = 8192;
const base64urlSegment = /^[A-Za-z0-9_-]+$/;

const headerSchema = z.object({ alg: z.literal('RS256'), kid: z.string().min(1) });
const payloadSchema = z.object({
  iss: z.string(),
  aud: z.string(),
  sub: z.string().min(1),
  iat: z.number(),
  exp: z.number(),
  email: z.string().min(1).optional(),
  email_verified: z.unknown().optional(),
});

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
  let claims: z.infer<typeof payloadSchema>;
  try {
    header = decodeSegment(headerSegment);
    claims = payloadSchema.parse(decodeSegment(payloadSegment));
  } catch {
    throw rejectCaller('malformed_token');
  }
  // Google signs its ID tokens with RS256 only; a token claiming anything else did not come through IAM as such.
  if (!headerSchema.safeParse(header).success) throw rejectCaller('unsupported_algorithm');
  const clock = options.clock ?? systemClock;
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const maxLifetime = options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (!(GOOGLE_ID_TOKEN_ISSUERS as readonly string[]).includes(claims.iss)) throw rejectCaller('wrong_issuer');
  if (!options.audiences.includes(claims.aud)) throw rejectCaller('wrong_audience');
  const now = clock.nowMs() / 1000;
  if (claims.exp <= claims.iat) throw rejectCaller('malformed_token');
  if (claims.exp - claims.iat > maxLifetime) throw rejectCaller('lifetime_too_long');
  if (now > claims.exp + skew) throw rejectCaller('expired');
  if (now < claims.iat - skew) throw rejectCaller('not_yet_valid');
  if (claims.email === undefined) throw rejectCaller('email_missing');
  if (claims.email_verified !== true) throw rejectCaller('email_unverified');
  return { email: claims.email, subject: claims.sub, audience: claims.aud, issuer: claims.iss };
}
