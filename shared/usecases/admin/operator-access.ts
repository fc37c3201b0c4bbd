// Lets an operator in, or not: IAP assertion or ID token verified, then the admin allowlist (deny by default).
// A verified identity that is refused is audited, so attempts by non-operators leave a trace.
import { lazy } from '../../async/lazy.js';
import { type AdminAllowlist, authenticateOperator, createAdminAllowlist, type Operator } from '../../auth/admin-operator.js';
import type { RequestHeaders } from '../../auth/authenticate-caller.js';
import { createIapAssertionVerifier } from '../../auth/iap-assertion.js';
import { BrokerError } from '../../errors/broker-error.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { recordOperatorAction } from './operator-audit.js';

export interface OperatorAccess {
  /** The allowlisted operator behind the request; throws `unauthenticated` or `caller_not_allowed`. */
  admit(headers: RequestHeaders, operation: string): Promise<Operator>;
}

export function createOperatorAccess(runtime: BrokerRuntime): OperatorAccess {
  const { admin } = runtime.config;
  const allowlist: AdminAllowlist = createAdminAllowlist(admin.allowlist);
  const { audience } = admin.iap;
  const iapVerifier =
    audience === undefined
      ? () => undefined
      : lazy(() => createIapAssertionVerifier({ audience, issuer: admin.iap.issuer, publicKeysUrl: admin.iap.publicKeysUrl, clock: runtime.clock }));
  return {
    async admit(headers, operation) {
      if (admin.allowlist.length === 0) {
        throw new BrokerError('misconfigured', 'ADMIN_ALLOWLIST is empty: nobody may use the admin function', {
          details: { variables: ['ADMIN_ALLOWLIST'] },
        });
      }
      const operator = await authenticateOperator(headers, { iap: iapVerifier, idToken: () => runtime.idTokenVerifier() });
      if (!allowlist.allows(operator)) {
        await recordOperatorAction(runtime, operator, { operation, outcome: 'denied', detail: 'not_on_allowlist' });
        allowlist.authorize(operator);
      }
      return operator;
    },
  };
}
