// Authenticates the service calling a broker function from its `Authorization: Bearer <Google ID token>` header.
//
// Header convention. On Cloud Run, IAM (roles/run.invoker) checks the caller's ID token before our code runs,
// and then strips the signature of the header it checked (the token arrives as `...SIGNATURE_REMOVED_BY_GOOGLE`),
// which leaves nothing this code could verify. So callers send the same ID token twice:
//   X-Serverless-Authorization: Bearer <token>   — Cloud Run uses this one for IAM when present;
//   Authorization: Bearer <token>                — which then reaches the code intact and is verified here.
// Only `Authorization` is read: a token whose signature was removed is refused, never trusted on IAM's word
// (the one exception, off by default and for the scheduler only, is cloud-run-iam-caller.ts).
import { rejectCaller } from './caller-rejection.js';
import type { IdTokenVerifier, VerifiedCaller } from './id-token-verifier.js';

/** Node's `IncomingHttpHeaders` (lower-case names) or a Fetch `Headers`. */
export type RequestHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

// RFC 6750 §2.1: the scheme is case-insensitive; the credential is token68.
const bearerCredentials = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** One request header by case-insensitive name; several values stay an array. */
export function requestHeader(headers: RequestHeaders, lowerCaseName: string): string | readonly string[] | undefined {
  if (headers instanceof Headers) return headers.get(lowerCaseName) ?? undefined;
  const name = Object.keys(headers).find((key) => key.toLowerCase() === lowerCaseName);
  return name === undefined ? undefined : headers[name];
}

/** The token of the one `Authorization: Bearer` header, unverified; throws `unauthenticated` when there is none. */
export function bearerToken(headers: RequestHeaders): string {
  const value = requestHeader(headers, 'authorization');
  if (value === undefined || value === '') throw rejectCaller('missing_authorization');
  // Several Authorization headers are ambiguous: refuse rather than pick one.
  if (typeof value !== 'string') throw rejectCaller('malformed_authorization');
  const match = bearerCredentials.exec(value);
  if (!match?.[1]) throw rejectCaller('malformed_authorization');
  return match[1];
}

export async function authenticateCaller(headers: RequestHeaders, verifier: IdTokenVerifier): Promise<VerifiedCaller> {
  return verifier.verify(bearerToken(headers));
}
