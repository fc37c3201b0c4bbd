// Checks an id_token received directly from the token endpoint (OIDC Core §3.1.3.7) with oauth4webapi.
import * as oauth from 'oauth4webapi';
import { BrokerError } from '../errors/broker-error.js';
import type { Clock } from '../time/clock.js';
import { authorizationServer, standardClient } from './standard-steps.js';
import type { ClientCredentials } from './token-set.js';

export interface IdTokenExpectations {
  readonly issuer: string;
  /** The server's published signing algorithms (discovery); RS256 otherwise, as OIDC Core makes the default. */
  readonly algorithms?: readonly string[];
  readonly client: ClientCredentials;
  /** Checked on the code exchange; a refreshed id_token need not repeat it (OIDC Core §12.2). */
  readonly nonce?: string;
  readonly provider: string;
  readonly clock: Clock;
}

/** The reply fields oauth4webapi reads: an RFC 6749 token reply carrying the id_token. */
export interface IdTokenReply {
  readonly access_token: string;
  readonly token_type: string;
  readonly id_token: string;
}

/** Decodes the payload without checking it (to pick the issuer a tenant's token must carry); malformed → undefined. */
export function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks iss (exactly), aud, azp, exp, iat, sub, the algorithm and, on the code exchange, the nonce; returns the claims.
 * The signature is not verified: OIDC Core §3.1.3.7 (6) lets a client rely on TLS when the id_token comes straight
 * from the token endpoint, which is the only way this broker receives one. The broker never restricted token_type
 * (Slack's are `bot` and `user`), so whatever type the reply states is accepted here too.
 */
export async function validateIdToken(reply: IdTokenReply, expected: IdTokenExpectations): Promise<Record<string, unknown>> {
  const as = authorizationServer({ issuer: expected.issuer, ...(expected.algorithms ? { idTokenAlgorithms: expected.algorithms } : {}) });
  const client = standardClient(expected.client, expected.clock);
  const response = Response.json(reply);
  const recognizedTokenTypes = { [reply.token_type.toLowerCase()]: () => undefined };
  try {
    const result =
      expected.nonce === undefined
        ? await oauth.processGenericTokenEndpointResponse(as, client, response, { recognizedTokenTypes })
        : await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: expected.nonce, recognizedTokenTypes });
    const claims = oauth.getValidatedIdTokenClaims(result);
    if (claims === undefined) throw new TypeError('unreachable: the reply carried an id_token');
    return { ...claims };
  } catch (error) {
    throw idTokenFailure(error, expected.provider);
  }
}

/**
 * oauth4webapi's finding as a BrokerError. Its errors carry the claims and reply in `cause`, so none is attached: a
 * token must not reach a log line through an error.
 */
function idTokenFailure(error: unknown, provider: string): unknown {
  if (error instanceof oauth.OperationProcessingError) {
    const claim = (error.cause as { claim?: unknown } | undefined)?.claim;
    if (error.code === oauth.JWT_CLAIM_COMPARISON && claim === 'iss') {
      return new BrokerError('issuer_mismatch', 'The id_token was issued by an unexpected issuer', {
        details: { provider, reason: 'id_token_iss_differs' },
      });
    }
    const reason = claim === 'exp' ? 'id_token_expired' : typeof claim === 'string' ? `id_token_${claim}` : 'id_token_invalid';
    return new BrokerError('provider_error', 'The provider\'s id_token failed validation', { details: { provider, operation: 'token', reason } });
  }
  if (error instanceof oauth.UnsupportedOperationError) {
    return new BrokerError('provider_error', 'The provider\'s id_token failed validation', {
      details: { provider, operation: 'token', reason: 'id_token_unsupported' },
    });
  }
  return error;
}
