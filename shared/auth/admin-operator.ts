// Who is operating the admin function: a user signed in through Identity-Aware Proxy, or a principal with a
// Google ID token (IAM) — then, separately, whether the admin allowlist names them. Deny by default.
import { BrokerError } from '../errors/broker-error.js';
import { authenticateCaller, type RequestHeaders, requestHeader } from './authenticate-caller.js';
import { IAP_ASSERTION_HEADER, type IapAssertionVerifier, rejectAssertion } from './iap-assertion.js';
import type { IdTokenVerifier } from './id-token-verifier.js';

export interface Operator {
  /** As the verified credential states it. */
  readonly email: string;
  readonly via: 'iap' | 'id_token';
}

export interface OperatorVerifiers {
  /** Undefined where no IAP audience is configured. */
  readonly iap: () => IapAssertionVerifier | undefined;
  readonly idToken: () => IdTokenVerifier;
}

/**
 * A request carrying IAP's header is judged by that header alone: a forged or stale assertion is refused,
 * never passed over for another credential. Where IAP is not configured the header is refused too, since
 * anyone can send it.
 */
export async function authenticateOperator(headers: RequestHeaders, verifiers: OperatorVerifiers): Promise<Operator> {
  const assertion = requestHeader(headers, IAP_ASSERTION_HEADER);
  if (assertion !== undefined) {
    const iap = verifiers.iap();
    if (iap === undefined) throw rejectAssertion('iap_not_configured');
    if (typeof assertion !== 'string') throw rejectAssertion('malformed_assertion');
    const { email } = await iap.verify(assertion);
    return { email, via: 'iap' };
  }
  const authorization = requestHeader(headers, 'authorization');
  if (authorization === undefined || authorization === '') throw rejectAssertion('missing_credentials');
  const caller = await authenticateCaller(headers, verifiers.idToken());
  return { email: caller.email, via: 'id_token' };
}

export interface AdminAllowlist {
  allows(operator: Operator): boolean;
  /** Throws `caller_not_allowed` unless the allowlist names this operator. */
  authorize(operator: Operator): void;
}

export function createAdminAllowlist(emails: readonly string[]): AdminAllowlist {
  const allowed = new Set(emails.map((email) => email.toLowerCase()));
  const allows = (operator: Operator) => allowed.has(operator.email.toLowerCase());
  return Object.freeze({
    allows,
    authorize(operator: Operator) {
      if (!allows(operator)) throw new BrokerError('caller_not_allowed', 'This identity is not an operator of this broker');
    },
  });
}
