// The claim checks every Google ID token must pass, signed or not: one copy, so the signature verifier and the
// Cloud Run signature-stripped path can never drift apart on what they accept.
import { z } from 'zod';
import { rejectCaller } from './caller-rejection.js';

export interface VerifiedCaller {
  /** The service account's email, exactly as the token states it. */
  readonly email: string;
  readonly subject: string;
  readonly audience: string;
  readonly issuer: string;
}

export const idTokenClaimsSchema = z.object({
  iss: z.string(),
  aud: z.string(),
  sub: z.string().min(1),
  iat: z.number(),
  exp: z.number(),
  email: z.string().min(1).optional(),
  email_verified: z.unknown().optional(),
});
export type IdTokenClaims = z.infer<typeof idTokenClaimsSchema>;

export interface ClaimRules {
  readonly issuers: readonly string[];
  readonly audiences: readonly string[];
  /** Seconds since the epoch, from the injected clock. */
  readonly nowSeconds: number;
  readonly clockSkewSeconds: number;
  readonly maxLifetimeSeconds: number;
}

/** Everything but the signature; throws `unauthenticated` with the reason of the first check that fails. */
export function checkIdTokenClaims(claims: IdTokenClaims, rules: ClaimRules): VerifiedCaller {
  if (!rules.issuers.includes(claims.iss)) throw rejectCaller('wrong_issuer');
  if (!rules.audiences.includes(claims.aud)) throw rejectCaller('wrong_audience');
  if (claims.exp <= claims.iat) throw rejectCaller('malformed_token');
  if (claims.exp - claims.iat > rules.maxLifetimeSeconds) throw rejectCaller('lifetime_too_long');
  if (rules.nowSeconds > claims.exp + rules.clockSkewSeconds) throw rejectCaller('expired');
  if (rules.nowSeconds < claims.iat - rules.clockSkewSeconds) throw rejectCaller('not_yet_valid');
  if (claims.email === undefined) throw rejectCaller('email_missing');
  if (claims.email_verified !== true) throw rejectCaller('email_unverified');
  return { email: claims.email, subject: claims.sub, audience: claims.aud, issuer: claims.iss };
}
