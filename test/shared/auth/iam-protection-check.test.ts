// The verdict on a Cloud Run service and its IAM policy: proven only with invoker IAM on, Terraform's ingress and no public binding.
import { describe, expect, it } from 'vitest';
import type { CloudRunServiceAccess } from '../../../shared/auth/cloud-run-admin-api.js';
import { checkIamProtection } from '../../../shared/auth/iam-protection-check.js';

const NAME = 'projects/acme-prod/locations/europe-west1/services/oauth-broker-refresh';
const SCHEDULER = 'serviceAccount:oauth-broker-scheduler@acme-prod.iam.gserviceaccount.com';

function access(service: Partial<CloudRunServiceAccess['service']> = {}, bindings: { role: string; members: string[] }[] = []): CloudRunServiceAccess {
  return {
    service: { name: NAME, ingress: 'INGRESS_TRAFFIC_ALL', ...service },
    policy: { bindings: [{ role: 'roles/run.invoker', members: [SCHEDULER] }, ...bindings] },
  };
}

describe('checkIamProtection', () => {
  it('proves a service deployed as Terraform deploys it', () => {
    expect(checkIamProtection(access())).toEqual({ proven: true });
    expect(checkIamProtection(access({ invokerIamDisabled: false }))).toEqual({ proven: true });
  });

  it('refuses a service whose invoker IAM check is disabled, and says how to turn it back on', () => {
    const verdict = checkIamProtection(access({ invokerIamDisabled: true }));
    expect(verdict).toMatchObject({ proven: false, failure: 'invoker_iam_disabled' });
    expect(!verdict.proven && verdict.message).toContain('gcloud run services update oauth-broker-refresh --region europe-west1 --invoker-iam-check');
  });

  it('refuses an ingress Terraform does not set, or none at all', () => {
    expect(checkIamProtection(access({ ingress: 'INGRESS_TRAFFIC_INTERNAL_ONLY' }))).toMatchObject({ proven: false, failure: 'unexpected_ingress' });
    expect(checkIamProtection(access({ ingress: undefined }))).toMatchObject({ proven: false, failure: 'unexpected_ingress' });
  });

  it.each([
    ['roles/run.invoker', 'allUsers'],
    ['roles/run.invoker', 'allAuthenticatedUsers'],
    ['roles/run.servicesInvoker', 'allUsers'],
    ['roles/run.developer', 'allAuthenticatedUsers'],
    ['roles/editor', 'allUsers'],
    ['projects/acme-prod/roles/customInvoker', 'allUsers'],
  ])('refuses a binding of %s to %s, and names the command that removes it', (role, member) => {
    const verdict = checkIamProtection(access({}, [{ role, members: ['group:ops@acme.test', member] }]));
    expect(verdict).toMatchObject({ proven: false, failure: 'public_binding' });
    expect(!verdict.proven && verdict.message).toContain(`--member=${member} --role=${role}`);
  });

  it('is not fooled by a principal that merely contains a public name', () => {
    expect(checkIamProtection(access({}, [{ role: 'roles/run.invoker', members: ['user:allUsers@acme.test'] }]))).toEqual({ proven: true });
  });
});
