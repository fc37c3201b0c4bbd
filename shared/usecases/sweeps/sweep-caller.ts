// Who may run a sweep: exactly the scheduler's service account, proven by a verified ID token; everyone else is refused.
import { authenticateCaller, type RequestHeaders } from '../../auth/authenticate-caller.js';
import type { VerifiedCaller } from '../../auth/id-token-verifier.js';
import { BrokerError } from '../../errors/broker-error.js';
import type { BrokerRuntime } from '../broker-runtime.js';

/** Verifies the caller's ID token (401 when it fails), then requires SCHEDULER_SERVICE_ACCOUNT (403 for anyone else). */
export async function authenticateSchedulerCaller(runtime: BrokerRuntime, headers: RequestHeaders): Promise<VerifiedCaller> {
  const caller = await authenticateCaller(headers, runtime.idTokenVerifier());
  const expected = runtime.config.sweeps.schedulerServiceAccount;
  if (expected === undefined) {
    throw new BrokerError('misconfigured', 'SCHEDULER_SERVICE_ACCOUNT is not set: nobody may run the sweeps', {
      details: { variables: ['SCHEDULER_SERVICE_ACCOUNT'] },
    });
  }
  if (caller.email.toLowerCase() !== expected) {
    throw new BrokerError('caller_not_allowed', 'Only the scheduler service account may run this sweep');
  }
  return caller;
}
