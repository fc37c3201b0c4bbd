// Checks a JWT's signature against a published JWK set with jose, under a one-algorithm allowlist, and names why a
// token failed from jose's typed errors. Claim policy (issuer, audience, lifetime, identity) is the caller's.
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Clock } from '../time/clock.js';
import { createVerifiedJwtMemo } from './verified-jwt-memo.js';

export const signedJwtFailures = ['malformed', 'unsupported_algorithm', 'unknown_key', 'bad_signature', 'expired', 'not_yet_valid', 'rejected'] as const;
export type SignedJwtFailure = (typeof signedJwtFailures)[number];

/** Why a token was refused; it holds neither the token nor jose's error (whose `payload` would carry the claims). */
export class SignedJwtRefusal extends Error {
  override readonly name = 'SignedJwtRefusal';
  constructor(readonly failure: SignedJwtFailure) {
    super(`JWT refused: ${failure}`);
  }
}

/** The key set could not be fetched or read: an outage to retry, not a bad token. */
export class SigningKeysUnavailable extends Error {
  override readonly name = 'SigningKeysUnavailable';
}

export interface SignedJwtVerifierOptions {
  /** The issuer's JWK set: https, or http on loopback (the local stand-ins). */
  readonly jwksUrl: string;
  /** The one algorithm the issuer signs with; a token naming any other is refused before a key is looked up. */
  readonly algorithm: 'RS256' | 'ES256';
  /** Expiry and not-before are judged by this clock (jose would read the system time). */
  readonly clock: Clock;
  readonly clockSkewSeconds: number;
  /** How long a fetched key set is used before it is fetched again; an unknown kid refetches sooner (after 30 s). */
  readonly keysMaxAgeMs?: number;
  /** How many verified tokens to remember until their expiry (0: verify every time). */
  readonly rememberVerified?: number;
}

/** Verifies a token's signature and expiry; resolves with its claims or throws SignedJwtRefusal / SigningKeysUnavailable. */
export type SignedJwtVerifier = (token: string) => Promise<JWTPayload>;

const DEFAULT_KEYS_MAX_AGE_MS = 600_000;
/** Distinct callers' tokens alive at once in one instance; ~1 KB each. */
const DEFAULT_REMEMBERED_TOKENS = 1000;

function isHttpsOrLoopback(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  const loopback = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/.test(url.hostname);
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback);
}

/** jose's typed errors, in the order a token meets the checks. */
function failureOf(error: unknown): SignedJwtFailure {
  if (error instanceof errors.JOSEAlgNotAllowed) return 'unsupported_algorithm';
  if (error instanceof errors.JWKSNoMatchingKey) return 'unknown_key';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) return error.claim === 'nbf' ? 'not_yet_valid' : 'malformed';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed';
  return 'rejected';
}

/** Fails at construction on bad options; there is no option that skips the signature. */
export function createSignedJwtVerifier(options: SignedJwtVerifierOptions): SignedJwtVerifier {
  if (!isHttpsOrLoopback(options.jwksUrl)) throw new TypeError('jwksUrl must be an https URL, or an http URL on loopback');
  const remoteKeys = createRemoteJWKSet(new URL(options.jwksUrl), { cacheMaxAge: options.keysMaxAgeMs ?? DEFAULT_KEYS_MAX_AGE_MS });
  // A fetch that failed (network, timeout, not 200, not a key set) is told apart from a key the set does not hold.
  const keys: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remoteKeys(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new SigningKeysUnavailable('The signing keys could not be fetched', { cause: error });
    }
  };
  // Fresh (younger than keysMaxAgeMs, as jose would demand before verifying) and still holding the key. The set only
  // changes inside a verification (jose fetches it there), so its key ids are read once after each one, not per token.
  let publishedKids: ReadonlySet<string> | undefined;
  const stillPublished = (kid: string) => {
    if (!remoteKeys.fresh) return false;
    publishedKids ??= new Set((remoteKeys.jwks()?.keys ?? []).flatMap((key) => (key.kid === undefined ? [] : [key.kid])));
    return publishedKids.has(kid);
  };
  const rememberVerified = options.rememberVerified ?? DEFAULT_REMEMBERED_TOKENS;
  const memo = rememberVerified > 0 ? createVerifiedJwtMemo(rememberVerified) : undefined;
  return async (token) => {
    const nowMs = options.clock.nowMs();
    const remembered = memo?.recall(token, nowMs);
    if (remembered !== undefined && stillPublished(remembered.kid)) return remembered.payload;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keys, {
        algorithms: [options.algorithm],
        currentDate: new Date(nowMs),
        clockTolerance: options.clockSkewSeconds,
      });
      if (protectedHeader.kid !== undefined) memo?.remember(token, payload, protectedHeader.kid);
      return payload;
    } catch (error) {
      if (error instanceof SigningKeysUnavailable) throw error;
      if (!(error instanceof errors.JOSEError)) throw error;
      throw new SignedJwtRefusal(failureOf(error));
    } finally {
      // jose may have fetched the set meanwhile; ids read before or during that are read again.
      publishedKids = undefined;
    }
  };
}
