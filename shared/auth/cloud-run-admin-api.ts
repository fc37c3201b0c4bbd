// Reads a Cloud Run service and its IAM policy through the Cloud Run Admin API v2, and validates both answers.
import { z } from 'zod';
import { BrokerError } from '../errors/broker-error.js';

// Google's answers carry many more fields; only these are read, and unknown ones are ignored on purpose.
export const cloudRunServiceSchema = z.looseObject({
  name: z.string().min(1),
  // Proto3 JSON leaves out defaults: no `invokerIamDisabled` means false.
  invokerIamDisabled: z.boolean().optional(),
  ingress: z.string().optional(),
});
export type CloudRunService = z.infer<typeof cloudRunServiceSchema>;

export const iamPolicySchema = z.looseObject({
  bindings: z.array(z.looseObject({ role: z.string().min(1), members: z.array(z.string()).default([]) })).default([]),
});
export type IamPolicy = z.infer<typeof iamPolicySchema>;

export interface CloudRunServiceAccess {
  readonly service: CloudRunService;
  readonly policy: IamPolicy;
}

export interface CloudRunAdminApiOptions {
  /** https://run.googleapis.com, or a loopback stand-in. */
  readonly baseUrl: string;
  /** An OAuth access token of the runtime's own identity (cloud-platform scope). */
  readonly accessToken: () => Promise<string>;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const serviceNamePattern = /^projects\/[^/]+\/locations\/[^/]+\/services\/[^/]+$/;

function unavailable(message: string, cause?: unknown): BrokerError {
  return new BrokerError('identity_unavailable', message, { cause, retryAfterSeconds: 5 });
}

/** Sends one GET; returns the raw response. Network failures and timeouts become `identity_unavailable`. */
export async function cloudRunAdminRequest(path: string, options: CloudRunAdminApiOptions): Promise<Response> {
  let token: string;
  try {
    token = await options.accessToken();
  } catch (error) {
    throw unavailable('No access token for the Cloud Run Admin API: the metadata server did not give the runtime credentials', error);
  }
  try {
    return await (options.fetch ?? fetch)(`${options.baseUrl}/v2/${path}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (error) {
    throw unavailable('The Cloud Run Admin API could not be reached', error);
  }
}

/** Validates one answer: 403 and 404 are the operator's to fix, anything else not 2xx is worth a retry. */
export async function processCloudRunAdminResponse<T>(response: Response, serviceName: string, schema: z.ZodType<T>, what: string): Promise<T> {
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new BrokerError(
      'misconfigured',
      `The runtime service account may not read ${what} of ${serviceName} (HTTP ${response.status}): grant it roles/run.viewer ` +
        'on this service (terraform/sweep_self_check.tf does), or turn CLOUD_RUN_IAM_VERIFIED_CALLERS off',
    );
  }
  if (response.status === 404) {
    await response.body?.cancel();
    throw new BrokerError(
      'misconfigured',
      `Cloud Run service ${serviceName} was not found: check K_SERVICE, GOOGLE_CLOUD_PROJECT and CLOUD_RUN_REGION`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw unavailable(`The Cloud Run Admin API answered HTTP ${response.status} for ${what} of ${serviceName}`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw unavailable(`The Cloud Run Admin API's answer for ${what} of ${serviceName} is not JSON`, error);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw unavailable(`The Cloud Run Admin API's answer for ${what} of ${serviceName} has an unexpected shape`, parsed.error);
  return parsed.data;
}

/** `GET v2/{service}` and `GET v2/{service}:getIamPolicy` (the service's own policy: inherited bindings are not in it). */
export async function readCloudRunServiceAccess(serviceName: string, options: CloudRunAdminApiOptions): Promise<CloudRunServiceAccess> {
  if (!serviceNamePattern.test(serviceName)) throw new TypeError('serviceName must be projects/P/locations/L/services/S');
  // Settled, not raced: each answer's body is read or cancelled even when the other one fails.
  const [serviceResult, policyResult] = await Promise.allSettled([
    cloudRunAdminRequest(serviceName, options).then((response) =>
      processCloudRunAdminResponse(response, serviceName, cloudRunServiceSchema, 'the service'),
    ),
    cloudRunAdminRequest(`${serviceName}:getIamPolicy?options.requestedPolicyVersion=3`, options).then((response) =>
      processCloudRunAdminResponse(response, serviceName, iamPolicySchema, 'the IAM policy'),
    ),
  ]);
  if (serviceResult.status === 'rejected') throw serviceResult.reason;
  if (policyResult.status === 'rejected') throw policyResult.reason;
  const service = serviceResult.value;
  const policy = policyResult.value;
  if (service.name !== serviceName) {
    throw new BrokerError('misconfigured', `The Cloud Run Admin API described ${service.name} when asked for ${serviceName}`);
  }
  return { service, policy };
}
