// Verifies a caller's Google-format ID token (signature, issuer, audience, lifetime, verified email) with google-auth-library.
import { createHash } from 'node:crypto';
import { OAuth2Client } from 'google-auth-library';
import { z } from 'zod';
import { GOOGLE_ID_TOKEN_CERTS_URL } from '../config/config.js';
import { BrokerError } from '../errors/broker-error.js';
import { type Clock, systemClock } from '../time/clock.js';
import { type CallerRejectionReason, rejectCaller } from './caller-rejection.js';
import { checkIdTokenClaims, type IdTokenClaims, idTokenClaimsSchema, type VerifiedCaller } from './id-token-claims.js';

/** Clocks of caller and broker may differ this much; explicit and small (the library alone allows 300 s). */
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;
/** Google's ID tokens (metadata server, Cloud Scheduler OIDC, IAM Credentials) live one hour. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 3600;
/** Google's ID tokens are about 1 KB; anything far larger is not one, and is not worth parsing. */
const MAX_TOKEN_LENGTH = 8192;
/** Callers reuse one token for its hour (the client library caches it): a few per calling service is plenty. */
export const DEFAULT_VERIFIED_TOKEN_CACHE_SIZE = 1024;

export interface IdTokenVerifierOptions {
  /** Accepted `aud` values: the service URL or custom audience each caller asks its token for. */
  readonly audiences: readonly string[];
  /** Accepted `iss` values: Google's two spellings in production, the local issuer's identifier locally. */
  readonly issuers: readonly string[];
  /** The issuers' PEM certificate map; Google's by default. */
  readonly certsUrl?: string;
  readonly clock?: Clock;
  readonly clockSkewSeconds?: number;
  readonly maxTokenLifetimeSeconds?: number;
  /**
   * How many verified tokens to remember (0: none). A remembered token skips only the signature check,
   * which is the costly part (the library parses the PEM certificate on every call); every claim check
   * runs again on each use, and the memory is dropped whenever the key set is fetched anew.
   */
  readonly verifiedTokenCacheSize?: number;
}

export type { VerifiedCaller } from './id-token-claims.js';

export interface IdTokenVerifier {
  /** Resolves with the caller, or throws BrokerError `unauthenticated` (or `identity_unavailable`). */
  verify(idToken: string): Promise<VerifiedCaller>;
}

const headerSchema = z.object({ alg: z.string(), kid: z.string().min(1) });


const base64urlSegment = /^[A-Za-z0-9_-]+$/;

// google-auth-library reports failures as plain Errors; their messages (which quote the token, so they are
// never kept) are matched only to name the reason in logs. Anything unmatched is still a rejection.
const libraryFailureReasons: readonly (readonly [RegExp, CallerRejectionReason])[] = [
  [/^No pem found for envelope/, 'unknown_key'],
  [/^Invalid token signature/, 'bad_signature'],
  [/^Token used too late/, 'expired'],
  [/^Token used too early/, 'not_yet_valid'],
  [/^Expiration time too far in future/, 'lifetime_too_long'],
  [/^Invalid issuer/, 'wrong_issuer'],
  [/^Wrong recipient/, 'wrong_audience'],
  [/^(Wrong number of segments|Can't parse token|No issue time|No expiration time|(iat|exp) field)/, 'malformed_token'],
];
const CERTS_FETCH_FAILURE = /^Failed to retrieve verification certificates/;

function decodeSegment(segment: string): unknown {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

function isHttpsOrLoopback(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const loopback = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/.test(url.hostname);
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback);
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
  const certsUrl = options.certsUrl ?? GOOGLE_ID_TOKEN_CERTS_URL;
  if (!isHttpsOrLoopback(certsUrl)) throw new TypeError('certsUrl must be an https URL, or an http URL on loopback');
  const clock = options.clock ?? systemClock;
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const maxLifetime = options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (!Number.isInteger(skew) || skew < 0 || skew > 300) throw new TypeError('clockSkewSeconds must be 0..300');
  if (!Number.isInteger(maxLifetime) || maxLifetime <= 0) throw new TypeError('maxTokenLifetimeSeconds must be > 0');
  const cacheSize = options.verifiedTokenCacheSize ?? DEFAULT_VERIFIED_TOKEN_CACHE_SIZE;
  if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new TypeError('verifiedTokenCacheSize must be an integer >= 0');
  const audiences = [...options.audiences];

  // In Node, verifyIdToken fetches the PEM map (`oauth2FederatedSignonPemCertsUrl`) and checks `iss`
  // against `issuers`; the JWK URL is used only where browser crypto exists.
  const client = new OAuth2Client({
    endpoints: { oauth2FederatedSignonPemCertsUrl: certsUrl },
    issuers: [...options.issuers],
  });

  // The library caches the certificates for the response's max-age but does not share a fetch in
  // flight: concurrent first requests (a cold start under load) share this one instead.
  let certsInFlight: Promise<{ certs: object }> | undefined;
  // Verified tokens by their SHA-256 (the tokens themselves are not kept), oldest first. Bound to the key set
  // they were checked against: a fetch that replaces it (rotation, a withdrawn key) forgets them all.
  const verified = new Map<string, IdTokenClaims>();
  let verifiedAgainst: object | undefined;
  const ensureCerts = async (): Promise<void> => {
    certsInFlight ??= client.getFederatedSignonCerts().finally(() => {
      certsInFlight = undefined;
    });
    let current: object;
    try {
      ({ certs: current } = await certsInFlight);
    } catch (error) {
      throw keysUnavailable(error);
    }
    if (current !== verifiedAgainst) {
      verified.clear();
      verifiedAgainst = current;
    }
  };
  const remember = (key: string, claims: IdTokenClaims): void => {
    if (cacheSize === 0) return;
    if (verified.size >= cacheSize) verified.delete(verified.keys().next().value as string);
    verified.set(key, claims);
  };

  /** Everything but the signature: run on every use of a token, remembered or not, against the injected clock. */
  const checkClaims = (claims: IdTokenClaims): VerifiedCaller =>
    // The library checked issuer, audience and expiry already; checked again so a change in its defaults cannot widen what we accept.
    checkIdTokenClaims(claims, { issuers: options.issuers, audiences, nowSeconds: clock.nowMs() / 1000, clockSkewSeconds: skew, maxLifetimeSeconds: maxLifetime });

  const verifyWithLibrary = async (idToken: string) => {
    try {
      // The library refuses `exp >= now + maxExpiry`; our own checks below (iat within skew, exp - iat within
      // the lifetime) already imply `exp <= now + lifetime + skew`, so this bound never refuses more than they do.
      return await client.verifyIdToken({ idToken, audience: audiences, maxExpiry: maxLifetime + skew + 1 });
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      if (CERTS_FETCH_FAILURE.test(message)) throw keysUnavailable(new Error('Failed to retrieve verification certificates'));
      // The library's error quotes the token: it is dropped here, on purpose, and only its reason kept.
      const match = libraryFailureReasons.find(([pattern]) => pattern.test(message));
      throw rejectCaller(match ? match[1] : 'rejected');
    }
  };

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
      if (segments.length !== 3 || !segments.every((segment) => base64urlSegment.test(segment))) {
        throw rejectCaller('malformed_token');
      }
      let header: z.infer<typeof headerSchema>;
      try {
        header = headerSchema.parse(decodeSegment(headerSegment));
        decodeSegment(payloadSegment);
      } catch {
        throw rejectCaller('malformed_token');
      }
      // The library verifies every token as RSA-SHA256 whatever it claims; refuse any other claim outright.
      if (header.alg !== 'RS256') throw rejectCaller('unsupported_algorithm');

      await ensureCerts();
      const key = createHash('sha256').update(idToken).digest('base64url');
      const remembered = verified.get(key);
      if (remembered !== undefined) {
        try {
          return checkClaims(remembered);
        } catch (error) {
          // Forgotten, so a later use is verified in full rather than judged on remembered claims.
          verified.delete(key);
          throw error;
        }
      }
      const ticket = await verifyWithLibrary(idToken);
      const parsed = idTokenClaimsSchema.safeParse(ticket.getPayload());
      if (!parsed.success) throw rejectCaller('malformed_token');
      const caller = checkClaims(parsed.data);
      remember(key, parsed.data);
      return caller;
    },
  };
}
