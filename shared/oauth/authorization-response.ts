// Checks the provider's redirect back to us: issuer (RFC 9207) first, then state, then error or code.
import { timingSafeEqual } from 'node:crypto';
import { BrokerError } from '../errors/broker-error.js';
import type { ConnectionConfig } from '../providers/connection-config.js';
import type { ProviderDefinition } from '../providers/definition-schema.js';
import type { OAuthRuntime } from './oauth-runtime.js';
import { safeProviderErrorCode } from './provider-failure.js';
import { resolveEndpoints } from './resolved-endpoints.js';

export interface AuthorizationResponseInput {
  /** The callback's query parameters. */
  readonly params: URLSearchParams;
  readonly expectedState: string;
  readonly connectionConfig: ConnectionConfig;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new BrokerError('invalid_request', `The authorization response repeats "${name}"`);
  return values[0];
}

/** Returns the authorization code; a user who declined gets `access_denied`, a forged issuer `issuer_mismatch`. */
export async function validateAuthorizationResponse(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  input: AuthorizationResponseInput,
): Promise<{ readonly code: string }> {
  const endpoints = await resolveEndpoints(runtime, provider, input.connectionConfig);
  const iss = single(input.params, 'iss');
  // RFC 9207 §2.4: compare before looking at anything else, error responses included (mix-up defence).
  if (endpoints.issuer !== undefined) {
    if (iss === undefined ? endpoints.issAlwaysSent : iss !== endpoints.issuer) {
      throw new BrokerError('issuer_mismatch', 'The authorization response did not come from the expected issuer', {
        details: { provider: provider.id, reason: iss === undefined ? 'iss_missing' : 'iss_differs' },
      });
    }
  }
  const state = single(input.params, 'state');
  if (state === undefined || !sameSecret(state, input.expectedState)) {
    throw new BrokerError('invalid_request', 'The authorization response does not carry this flow\'s state');
  }
  const error = single(input.params, 'error');
  if (error !== undefined) {
    if (error === 'access_denied') {
      throw new BrokerError('access_denied', 'The user declined the authorization', { details: { provider: provider.id } });
    }
    throw new BrokerError('provider_error', 'The provider refused the authorization request', {
      details: { provider: provider.id, operation: 'authorization', providerError: safeProviderErrorCode(error) ?? null },
    });
  }
  const code = single(input.params, 'code');
  if (code === undefined || code === '') {
    throw new BrokerError('invalid_request', 'The authorization response carries neither a code nor an error');
  }
  return { code };
}
