// The instance's proof of IAM protection: one read for many requests, re-checked after its interval, failures retried after a pause.
import { describe, expect, it } from 'vitest';
import type { CloudRunServiceAccess } from '../../../shared/auth/cloud-run-admin-api.js';
import { createIamProtectionProof, DEFAULT_IAM_PROOF_RECHECK_MS, DEFAULT_IAM_PROOF_RETRY_MS } from '../../../shared/auth/iam-protection-proof.js';
import { BrokerError } from '../../../shared/errors/broker-error.js';
import { ManualClock } from '../../../shared/time/clock.js';
import { caught } from './token-leak.js';

const NAME = 'projects/acme-prod/locations/europe-west1/services/oauth-broker-health';
const protectedService: CloudRunServiceAccess = {
  service: { name: NAME, ingress: 'INGRESS_TRAFFIC_ALL' },
  policy: { bindings: [{ role: 'roles/run.invoker', members: ['serviceAccount:scheduler@acme-prod.iam.gserviceaccount.com'] }] },
};
const publicService: CloudRunServiceAccess = {
  ...protectedService,
  policy: { bindings: [{ role: 'roles/run.invoker', members: ['allUsers'] }] },
};

function countingReader(answers: (() => CloudRunServiceAccess)[]) {
  let reads = 0;
  return {
    reads: () => reads,
    read: async () => {
      const answer = answers[Math.min(reads, answers.length - 1)] as () => CloudRunServiceAccess;
      reads += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return answer();
    },
  };
}

describe('createIamProtectionProof', () => {
  it('reads the service once for many concurrent and later requests, and again after the re-check interval', async () => {
    const clock = new ManualClock();
    const reader = countingReader([() => protectedService]);
    const proof = createIamProtectionProof({ read: reader.read, clock });
    await Promise.all(Array.from({ length: 25 }, () => proof.require()));
    expect(reader.reads()).toBe(1);
    clock.advance(DEFAULT_IAM_PROOF_RECHECK_MS - 1);
    await proof.require();
    expect(reader.reads()).toBe(1);
    clock.advance(1);
    await proof.require();
    expect(reader.reads()).toBe(2);
  });

  it('stops trusting once a re-check finds the service public', async () => {
    const clock = new ManualClock();
    const reader = countingReader([() => protectedService, () => publicService]);
    const proof = createIamProtectionProof({ read: reader.read, clock });
    await proof.require();
    clock.advance(DEFAULT_IAM_PROOF_RECHECK_MS);
    const error = await caught(() => proof.require());
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: 'misconfigured', status: 500, details: { check: 'public_binding' } });
    expect((error as Error).message).toContain('grants roles/run.invoker to allUsers');
  });

  it('answers a failure from memory for a moment, then asks again and recovers', async () => {
    const clock = new ManualClock();
    const outage = new BrokerError('identity_unavailable', 'The Cloud Run Admin API answered HTTP 503', { retryAfterSeconds: 5 });
    const reader = countingReader([
      () => {
        throw outage;
      },
      () => protectedService,
    ]);
    const proof = createIamProtectionProof({ read: reader.read, clock });
    expect(await caught(() => proof.require())).toBe(outage);
    expect(await caught(() => proof.require())).toBe(outage);
    expect(reader.reads()).toBe(1);
    clock.advance(DEFAULT_IAM_PROOF_RETRY_MS);
    await proof.require();
    expect(reader.reads()).toBe(2);
  });

  it('refuses bad options at construction', () => {
    const read = async () => protectedService;
    expect(() => createIamProtectionProof({ read, clock: new ManualClock(), recheckMs: 0 })).toThrow(TypeError);
    expect(() => createIamProtectionProof({ read, clock: new ManualClock(), retryAfterFailureMs: -1 })).toThrow(TypeError);
  });
});
