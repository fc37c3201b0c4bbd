// PKCE S256 (RFC 7636): a verifier from the injected randomness and its challenge.
import { calculatePKCECodeChallenge } from 'oauth4webapi';
import type { IdSource } from '../time/ids.js';

export interface PkcePair {
  /** 64 base64url characters (48 random bytes): inside RFC 7636's 43-128 and its unreserved alphabet. */
  readonly codeVerifier: string;
  readonly codeChallenge: string;
  readonly codeChallengeMethod: 'S256';
}

const verifierShape = /^[A-Za-z0-9\-._~]{43,128}$/;

export async function createPkcePair(ids: IdSource): Promise<PkcePair> {
  const codeVerifier = ids.secretToken(48);
  if (!verifierShape.test(codeVerifier)) throw new TypeError('the IdSource produced a verifier outside RFC 7636 §4.1');
  return { codeVerifier, codeChallenge: await calculatePKCECodeChallenge(codeVerifier), codeChallengeMethod: 'S256' };
}
