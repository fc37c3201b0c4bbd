// Judges from a Cloud Run service and its IAM policy whether every request reaching the code passed an IAM check.
import type { CloudRunServiceAccess } from './cloud-run-admin-api.js';

/** terraform/functions.tf deploys with ingress_settings ALLOW_ALL, which Cloud Run reports as this. */
export const TERRAFORM_INGRESS = 'INGRESS_TRAFFIC_ALL';

/** Principals that make a binding public: anyone at all, or anyone with any Google account. */
export const publicPrincipals = ['allUsers', 'allAuthenticatedUsers'] as const;

export const iamProtectionFailures = ['invoker_iam_disabled', 'unexpected_ingress', 'public_binding'] as const;
export type IamProtectionFailure = (typeof iamProtectionFailures)[number];

export type IamProtectionVerdict =
  | { readonly proven: true }
  | { readonly proven: false; readonly failure: IamProtectionFailure; readonly message: string };

/** The service id and region of a full name, for the gcloud commands the messages suggest. */
function shortName(serviceName: string): { service: string; region: string } {
  const [, , , region = '?', , service = '?'] = serviceName.split('/');
  return { service, region };
}

/**
 * Proven only when Cloud Run checks IAM for this service (`invokerIamDisabled` not set), the ingress is the one
 * Terraform sets, and no binding in the service's own policy names a public principal. Any role counts, not only
 * the invoker roles: a custom role may hold `run.routes.invoke`, and no read of it would be cheaper than refusing.
 */
export function checkIamProtection(access: CloudRunServiceAccess, expectedIngress: string = TERRAFORM_INGRESS): IamProtectionVerdict {
  const name = access.service.name;
  const { service, region } = shortName(name);
  if (access.service.invokerIamDisabled === true) {
    return {
      proven: false,
      failure: 'invoker_iam_disabled',
      message:
        `Cloud Run service ${name} has its invoker IAM check disabled, so a signature-stripped token proves nothing: ` +
        `run \`gcloud run services update ${service} --region ${region} --invoker-iam-check\` (or re-apply terraform/)`,
    };
  }
  const ingress = access.service.ingress ?? 'INGRESS_TRAFFIC_UNSPECIFIED';
  if (ingress !== expectedIngress) {
    return {
      proven: false,
      failure: 'unexpected_ingress',
      message:
        `Cloud Run service ${name} has ingress ${ingress}, not the ${expectedIngress} that terraform/ sets: ` +
        'it was changed outside Terraform; re-apply terraform/ before trusting its IAM check',
    };
  }
  for (const binding of access.policy.bindings) {
    const open = binding.members.filter((member) => (publicPrincipals as readonly string[]).includes(member));
    if (open.length > 0) {
      return {
        proven: false,
        failure: 'public_binding',
        message:
          `Cloud Run service ${name} grants ${binding.role} to ${open.join(' and ')}, so anyone may reach it: run ` +
          `\`gcloud run services remove-iam-policy-binding ${service} --region ${region} --member=${open[0]} --role=${binding.role}\``,
      };
    }
  }
  return { proven: true };
}
