// Who may run a sweep: exactly the scheduler's service account, proven by a verified ID token; everyone else is refused.
import { lazyPerOwner } from '../../async/lazy.js';
import { authenticateCaller, type RequestHeaders } from '../../auth/authenticate-caller.js';
import { authenticateCallerVerifiedByCloudRunIam } from '../../auth/cloud-run-iam-caller.js';
import type { IamProtectionProof } from '../../auth/iam-protection-proof.js';
import type { VerifiedCaller } from '../../auth/id-token-verifier.js';
import { createOwnServiceIamProof } from '../../auth/own-service-iam-proof.js';
import { BrokerError } from '../../errors/broker-error.js';
import type { BrokerRuntime } from '../broker-runtime.js';

// One proof per runtime, so per instance: it is cached and re-checked inside (iam-protection-proof.ts).
const proofs = lazyPerOwner(
  (runtime: BrokerRuntime): IamProtectionProof => createOwnServiceIamProof(runtime.config, { clock: runtime.clock, logger: runtime.logger }),
);

/**
 * Verifies the caller's ID token (401 when it fails), then requires SCHEDULER_SERVICE_ACCOUNT (403 for anyone else).
 * With CLOUD_RUN_IAM_VERIFIED_CALLERS=scheduler, Cloud Scheduler's token stripped of its signature by Cloud Run is
 * accepted too, once this service has proven that IAM guards it (cloud-run-iam-caller.ts); never by default.
 */
export async function authenticateSchedulerCaller(runtime: BrokerRuntime, headers: RequestHeaders): Promise<VerifiedCaller> {
  const expected = runtime.config.scheduler.serviceAccount;
  const caller = runtime.config.scheduler.trustCloudRunIam
    ? await authenticateCallerVerifiedByCloudRunIam(headers, {
        verifier: runtime.idTokenVerifier(),
        proof: proofs.of(runtime),
        claims: { audiences: runtime.config.callerIdentity.audiences, clock: runtime.clock },
      })
    : await authenticateCaller(headers, runtime.idTokenVerifier());
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
