// Proves, once per instance and again every few minutes, that IAM guards this Cloud Run service; callers share one check in flight.
import { BrokerError } from '../errors/broker-error.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../time/clock.js';
import type { CloudRunServiceAccess } from './cloud-run-admin-api.js';
import { checkIamProtection } from './iam-protection-check.js';

/** How long a proof stands: someone who opens the service to the public is noticed within this long. */
export const DEFAULT_IAM_PROOF_RECHECK_MS = 10 * 60_000;
/** A failed proof is answered from memory this long, so a flood of requests cannot flood the Admin API. */
export const DEFAULT_IAM_PROOF_RETRY_MS = 5_000;

export interface IamProtectionProof {
  /** Resolves when the service is proven IAM-protected; throws `misconfigured` or `identity_unavailable` otherwise. */
  require(): Promise<void>;
}

export interface IamProtectionProofOptions {
  readonly read: () => Promise<CloudRunServiceAccess>;
  readonly clock: Clock;
  readonly recheckMs?: number;
  readonly retryAfterFailureMs?: number;
  readonly logger?: Logger;
}

export function createIamProtectionProof(options: IamProtectionProofOptions): IamProtectionProof {
  const recheckMs = options.recheckMs ?? DEFAULT_IAM_PROOF_RECHECK_MS;
  const retryMs = options.retryAfterFailureMs ?? DEFAULT_IAM_PROOF_RETRY_MS;
  if (!Number.isInteger(recheckMs) || recheckMs <= 0) throw new TypeError('recheckMs must be a positive integer');
  if (!Number.isInteger(retryMs) || retryMs < 0) throw new TypeError('retryAfterFailureMs must be a non-negative integer');
  const { clock } = options;
  let provenUntilMs = Number.NEGATIVE_INFINITY;
  let failure: { readonly error: unknown; readonly untilMs: number } | undefined;
  let inFlight: Promise<void> | undefined;

  const prove = async (): Promise<void> => {
    try {
      const verdict = checkIamProtection(await options.read());
      if (!verdict.proven) {
        throw new BrokerError('misconfigured', `IAM protection not proven (${verdict.failure}): ${verdict.message}`, {
          details: { check: verdict.failure },
        });
      }
      failure = undefined;
      provenUntilMs = clock.nowMs() + recheckMs;
      options.logger?.info('iam_protection.proven', 'Cloud Run IAM guards this service; the scheduler may call it without X-Serverless-Authorization', {
        component: 'iam-protection-proof',
      });
    } catch (error) {
      failure = { error, untilMs: clock.nowMs() + retryMs };
      throw error;
    }
  };

  return {
    async require() {
      const now = clock.nowMs();
      if (now < provenUntilMs) return;
      if (failure !== undefined && now < failure.untilMs) throw failure.error;
      inFlight ??= prove().finally(() => {
        inFlight = undefined;
      });
      await inFlight;
    },
  };
}
