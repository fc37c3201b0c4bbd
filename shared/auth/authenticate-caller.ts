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

/**
 * A request's headers as they arrived: a Node request's raw name/value list, which keeps every repeat of a header
 * (its parsed `headers` keeps only the first `Authorization` and drops the rest), or a Fetch `Headers`, which joins
 * repeats into one value that no credential pattern matches.
 */
export type RequestHeaders = Headers | { readonly rawHeaders: readonly string[] };

// RFC 6750 §2.1: the scheme is case-insensitive; the credential is token68.
const bearerCredentials = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** One request header by case-insensitive name; a header sent several times is an array of every value. */
export function requestHeader(headers: RequestHeaders, lowerCaseName: string): string | readonly string[] | undefined {
  if (headers instanceof Headers) return headers.get(lowerCaseName) ?? undefined;
  const values: string[] = [];
  for (let index = 0; index + 1 < headers.rawHeaders.length; index += 2) {
    if ((headers.rawHeaders[index] as string).toLowerCase() === lowerCaseName) values.push(headers.rawHeaders[index + 1] as string);
  }
  if (values.length === 0) return undefined;
  return values.length === 1 ? values[0] : values;
}

/**
 * The token of the one `Authorization: Bearer` header, unverified; throws `unauthenticated` when there is none, and
 * when a credential header comes more than once: which copy a proxy or Cloud Run's IAM check used is unknowable, so
 * no copy is trusted.
 */
export function bearerToken(headers: RequestHeaders): string {
  const value = requestHeader(headers, 'authorization');
  if (value === undefined || value === '') throw rejectCaller('missing_authorization');
  if (typeof value !== 'string' || typeof (requestHeader(headers, 'x-serverless-authorization') ?? '') !== 'string') {
    throw rejectCaller('malformed_authorization');
  }
  const match = bearerCredentials.exec(value);
  if (!match?.[1]) throw rejectCaller('malformed_authorization');
  return match[1];
}

export async function authenticateCaller(headers: RequestHeaders, verifier: IdTokenVerifier): Promise<VerifiedCaller> {
  return verifier.verify(bearerToken(headers));
}
