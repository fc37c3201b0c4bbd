// Authenticates a caller whose token Cloud Run may have stripped of its signature after checking it, once IAM protection is proven.
//
// Cloud Scheduler's OIDC token only ever travels in `Authorization`, so Cloud Run's IAM check consumes its signature
// and the code receives `header.payload.SIGNATURE_REMOVED_BY_GOOGLE`. Such a token is accepted here only when
//   - no X-Serverless-Authorization header came with it: with one, IAM checked that header instead and passed
//     `Authorization` through untouched, so a stripped token there was written by the caller, not by Cloud Run;
//   - its unsigned claims pass every check the signature verifier makes (Google's issuer, our audience, lifetime,
//     verified email);
//   - this service has proven, through the Cloud Run Admin API, that IAM guards every request reaching it.
// An intact token is verified in full, exactly as authenticateCaller does.
import { bearerToken, type RequestHeaders, requestHeader } from './authenticate-caller.js';
import { rejectCaller } from './caller-rejection.js';
import type { IamProtectionProof } from './iam-protection-proof.js';
import type { IdTokenVerifier, VerifiedCaller } from './id-token-verifier.js';
import { checkSignatureStrippedClaims, isSignatureStripped, type SignatureStrippedClaimOptions } from './signature-stripped-token.js';

export interface CloudRunIamCallerOptions {
  readonly verifier: IdTokenVerifier;
  readonly proof: IamProtectionProof;
  readonly claims: SignatureStrippedClaimOptions;
}

export async function authenticateCallerVerifiedByCloudRunIam(headers: RequestHeaders, options: CloudRunIamCallerOptions): Promise<VerifiedCaller> {
  const token = bearerToken(headers);
  if (!isSignatureStripped(token)) return options.verifier.verify(token);
  if (requestHeader(headers, 'x-serverless-authorization') !== undefined) throw rejectCaller('signature_removed');
  const caller = checkSignatureStrippedClaims(token, options.claims);
  // Only now, for a token that could be the scheduler's, is the Admin API asked: garbage costs no API call.
  await options.proof.require();
  return caller;
}
