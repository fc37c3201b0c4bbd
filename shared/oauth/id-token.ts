// Reads an id_token received directly from the token endpoint and checks its claims (OIDC Core §3.1.3.7).
import { BrokerError } from '../errors/broker-error.js';
import type { Clock } from '../time/clock.js';

export interface IdTokenExpectations {
  readonly issuer: string;
  readonly clientId: string;
  readonly nonce?: string;
  readonly provider: string;
  readonly clock: Clock;
  /** Allowed clock difference with the provider. */
  readonly skewSeconds?: number;
}

/** Decodes the payload; malformed → undefined. */
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
 * The signature is not verified: OIDC Core §3.1.3.7 (6) lets a client rely on TLS when the id_token comes
 * straight from the token endpoint, which is the only way this broker receives one. Claims are checked.
 */
export function validateIdTokenClaims(
  claims: Record<string, unknown>,
  expected: IdTokenExpectations,
): Record<string, unknown> {
  const fail = (reason: string) =>
    new BrokerError('provider_error', 'The provider\'s id_token failed validation', {
      details: { provider: expected.provider, operation: 'token', reason },
    });
  if (claims.iss !== expected.issuer) {
    throw new BrokerError('issuer_mismatch', 'The id_token was issued by an unexpected issuer', {
      details: { provider: expected.provider, reason: 'id_token_iss_differs' },
    });
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(expected.clientId)) throw fail('id_token_aud');
  if (audiences.length > 1 && claims.azp !== expected.clientId) throw fail('id_token_azp');
  const nowSeconds = expected.clock.nowMs() / 1000;
  const skew = expected.skewSeconds ?? 60;
  if (typeof claims.exp !== 'number' || claims.exp + skew < nowSeconds) throw fail('id_token_expired');
  if (typeof claims.iat !== 'number') throw fail('id_token_iat');
  if (typeof claims.sub !== 'string' || claims.sub === '') throw fail('id_token_sub');
  if (expected.nonce !== undefined && claims.nonce !== expected.nonce) throw fail('id_token_nonce');
  return claims;
}
