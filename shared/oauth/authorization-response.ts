// Checks the provider's redirect back to us with oauth4webapi: issuer (RFC 9207) first, then state, then error or code.
import { timingSafeEqual } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { BrokerError } from '../errors/broker-error.js';
import type { ConnectionConfig } from '../providers/connection-config.js';
import type { ProviderDefinition } from '../providers/definition-schema.js';
import type { OAuthRuntime } from './oauth-runtime.js';
import { safeProviderErrorCode } from './provider-failure.js';
import { resolveEndpoints } from './resolved-endpoints.js';
import { authorizationServer } from './standard-steps.js';

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

/**
 * oauth4webapi's refusal in the broker's codes, told from the parameters rather than its message text: a repeated
 * parameter or a JARM/implicit response is malformed; otherwise the only checks it ran before the error were on `iss`.
 */
function authorizationResponseFailure(error: unknown, params: URLSearchParams, provider: string): unknown {
  const names = [...params.keys()];
  const malformed = error instanceof oauth.UnsupportedOperationError || new Set(names).size !== names.length || params.has('response');
  if (malformed) return new BrokerError('invalid_request', 'The authorization response is malformed (a parameter repeated, or tokens in it)');
  if (!(error instanceof oauth.OperationProcessingError)) return error;
  return new BrokerError('issuer_mismatch', 'The authorization response did not come from the expected issuer', {
    details: { provider, reason: params.has('iss') ? 'iss_differs' : 'iss_missing' },
  });
}

function requireState(params: URLSearchParams, expectedState: string): void {
  const states = params.getAll('state');
  if (states.length !== 1 || !sameSecret(states[0] as string, expectedState)) {
    throw new BrokerError('invalid_request', 'The authorization response does not carry this flow\'s state');
  }
}

/** Returns the authorization code; a user who declined gets `access_denied`, a forged issuer `issuer_mismatch`. */
export async function validateAuthorizationResponse(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  input: AuthorizationResponseInput,
): Promise<{ readonly code: string }> {
  const endpoints = await resolveEndpoints(runtime, provider, input.connectionConfig);
  const params = new URLSearchParams(input.params);
  // Without a known issuer there is nothing to compare an `iss` with; as before, it is then not read.
  if (endpoints.issuer === undefined) params.delete('iss');
  const as: oauth.AuthorizationServer = {
    ...authorizationServer({ ...(endpoints.issuer === undefined ? {} : { issuer: endpoints.issuer }), token: endpoints.token }),
    authorization_response_iss_parameter_supported: endpoints.issAlwaysSent,
  };
  // oauth4webapi reads no client field here; it takes one by signature. The state is compared below in constant time.
  const client: oauth.Client = { client_id: provider.id };
  let checked: URLSearchParams;
  try {
    // RFC 9207 §2.4: iss is compared before anything else, error responses included (mix-up defence).
    checked = oauth.validateAuthResponse(as, client, params, oauth.skipStateCheck);
  } catch (error) {
    if (!(error instanceof oauth.AuthorizationResponseError)) throw authorizationResponseFailure(error, params, provider.id);
    requireState(params, input.expectedState);
    if (error.error === 'access_denied') {
      throw new BrokerError('access_denied', 'The user declined the authorization', { details: { provider: provider.id } });
    }
    throw new BrokerError('provider_error', 'The provider refused the authorization request', {
      details: { provider: provider.id, operation: 'authorization', providerError: safeProviderErrorCode(error.error) ?? null },
    });
  }
  requireState(checked, input.expectedState);
  const code = checked.getAll('code');
  if (code.length > 1) throw new BrokerError('invalid_request', 'The authorization response is malformed (a parameter repeated, or tokens in it)');
  if (code[0] === undefined || code[0] === '') {
    throw new BrokerError('invalid_request', 'The authorization response carries neither a code nor an error');
  }
  return { code: code[0] };
}
