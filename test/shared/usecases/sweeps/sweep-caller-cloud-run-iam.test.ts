// The sweeps' caller check with CLOUD_RUN_IAM_VERIFIED_CALLERS: the scheduler's signature-stripped token is accepted only on a
// service proven IAM-protected through the (stand-in) Cloud Run Admin API, read with the runtime's (stand-in) metadata credentials.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CallerRejection } from '../../../../shared/auth/caller-rejection.js';
import { loadConfig } from '../../../../shared/config/config.js';
import { BrokerError } from '../../../../shared/errors/broker-error.js';
import { createLogger } from '../../../../shared/log/logger.js';
import { ManualClock } from '../../../../shared/time/clock.js';
import { type BrokerRuntime, createBrokerRuntime } from '../../../../shared/usecases/broker-runtime.js';
import { authenticateSchedulerCaller } from '../../../../shared/usecases/sweeps/sweep-caller.js';
import { type CloudRunAdminStandin, startCloudRunAdminStandin } from '../../../../local/cloud-run-admin-standin.js';
import { type IdTokenIssuer, startIdTokenIssuer } from '../../../../local/id-token-issuer.js';
import { type MetadataServer, startMetadataServer } from '../../../../local/metadata-server.js';
import { caught } from '../../auth/token-leak.js';

const PROJECT = 'acme-prod';
const SERVICE = 'oauth-broker-refresh';
const SERVICE_NAME = `projects/${PROJECT}/locations/europe-west1/services/${SERVICE}`;
const AUDIENCE = 'https://europe-west1-acme-prod.cloudfunctions.net/oauth-broker-refresh';
const SCHEDULER = 'oauth-broker-scheduler@acme-prod.iam.gserviceaccount.com';
const RUNTIME_ACCOUNT = 'oauth-broker-refresh@acme-prod.iam.gserviceaccount.com';
const SCHEDULER_INVOKER = { role: 'roles/run.invoker', members: [`serviceAccount:${SCHEDULER}`] };

let home: string;
let issuer: IdTokenIssuer;
let metadata: MetadataServer;
let admin: CloudRunAdminStandin;
let logLines: string[];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sweep-caller-iam-'));
  issuer = await startIdTokenIssuer();
  metadata = await startMetadataServer({ issuer, serviceAccountEmail: RUNTIME_ACCOUNT, projectId: PROJECT, region: 'europe-west1' });
  admin = await startCloudRunAdminStandin();
  // google-auth-library finds the runtime's credentials on the metadata stand-in only: no key file, no real server.
  vi.stubEnv('HOME', home);
  vi.stubEnv('CLOUDSDK_CONFIG', join(home, 'gcloud'));
  vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', '');
  vi.stubEnv('GCE_METADATA_HOST', metadata.host);
  vi.stubEnv('GCE_METADATA_IP', '');
  vi.stubEnv('METADATA_SERVER_DETECTION', 'ping-only');
  vi.stubEnv('GOOGLE_CLOUD_PROJECT', PROJECT);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all([admin.stop(), metadata.stop(), issuer.stop()]);
  await rm(home, { recursive: true, force: true });
});

beforeEach(() => {
  admin.failWith(undefined);
  admin.setService(SERVICE_NAME, { bindings: [SCHEDULER_INVOKER] });
  admin.resetCounts();
  logLines = [];
});

function runtime(env: Record<string, string> = {}, clock = new ManualClock(Date.now())): BrokerRuntime {
  const config = loadConfig({
    GOOGLE_CLOUD_PROJECT: PROJECT,
    ID_TOKEN_ISSUER: issuer.issuer,
    ID_TOKEN_JWKS_URL: issuer.jwksUrl,
    ID_TOKEN_AUDIENCES: AUDIENCE,
    SCHEDULER_SERVICE_ACCOUNT: SCHEDULER,
    K_SERVICE: SERVICE,
    CLOUD_RUN_ADMIN_API_URL: admin.url,
    CLOUD_RUN_IAM_VERIFIED_CALLERS: 'scheduler',
    ...env,
  });
  return createBrokerRuntime(config, { clock, logger: createLogger({ sink: (line) => logLines.push(line), minSeverity: 'DEBUG' }) });
}

/** Google-issued, then stripped by Cloud Run's IAM check, as the code receives it. */
async function strippedToken(options: { email?: string; audience?: string; issuedAt?: Date } = {}): Promise<string> {
  const token = await issuer.mint({
    email: options.email ?? SCHEDULER,
    audience: options.audience ?? AUDIENCE,
    ...(options.issuedAt ? { issuedAt: options.issuedAt } : {}),
    extraClaims: { iss: 'https://accounts.google.com' },
  });
  return `${token.split('.').slice(0, 2).join('.')}.SIGNATURE_REMOVED_BY_GOOGLE`;
}

const bearer = (token: string) => ({ rawHeaders: ['Authorization', `Bearer ${token}`] });

function rejectionReason(error: unknown): string | undefined {
  return error instanceof BrokerError && error.cause instanceof CallerRejection ? error.cause.code : undefined;
}

describe('the sweeps with CLOUD_RUN_IAM_VERIFIED_CALLERS unset (the default)', () => {
  it("refuse the scheduler's stripped token with 401 signature_removed and never ask the Admin API", async () => {
    const broker = runtime({ CLOUD_RUN_IAM_VERIFIED_CALLERS: '' });
    expect(broker.config.scheduler.trustCloudRunIam).toBe(false);
    const token = await strippedToken();
    const error = await caught(() => authenticateSchedulerCaller(broker, bearer(token)));
    expect(error).toMatchObject({ code: 'unauthenticated', status: 401 });
    expect(rejectionReason(error)).toBe('signature_removed');
    expect(admin.requestCounts()).toEqual({ service: 0, policy: 0 });
  });
});

describe('the sweeps with CLOUD_RUN_IAM_VERIFIED_CALLERS=scheduler', () => {
  it("accept the scheduler's stripped token on a protected service, read with the runtime's own credentials and region", async () => {
    const caller = await authenticateSchedulerCaller(runtime(), bearer(await strippedToken()));
    expect(caller).toMatchObject({ email: SCHEDULER, audience: AUDIENCE, issuer: 'https://accounts.google.com' });
    expect(admin.requestCounts()).toEqual({ service: 1, policy: 1 });
    // The metadata server's access token of the runtime account, and the region it named.
    expect(admin.authorizations().every((header) => /^Bearer ya29\.local-/.test(header))).toBe(true);
    expect(metadata.requestCounts().region).toBeGreaterThanOrEqual(1);
    expect(logLines.some((line) => line.includes('"event":"iam_protection.proven"'))).toBe(true);
  });

  it('prove the service once for many requests of the instance', async () => {
    const broker = runtime({ CLOUD_RUN_REGION: 'europe-west1' });
    metadata.resetCounts();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => strippedToken()));
    await Promise.all(tokens.slice(0, 10).map((token) => authenticateSchedulerCaller(broker, bearer(token))));
    for (const token of tokens.slice(10)) await authenticateSchedulerCaller(broker, bearer(token));
    expect(admin.requestCounts()).toEqual({ service: 1, policy: 1 });
    expect(metadata.requestCounts().region).toBe(0);
  });

  it('still verify an intact signed token in full, without the Admin API', async () => {
    const broker = runtime();
    const intact = await issuer.mint({ email: SCHEDULER, audience: AUDIENCE });
    expect((await authenticateSchedulerCaller(broker, bearer(intact))).email).toBe(SCHEDULER);
    const forged = `${intact.slice(0, intact.lastIndexOf('.'))}.${Buffer.from('forged').toString('base64url')}`;
    expect(rejectionReason(await caught(() => authenticateSchedulerCaller(broker, bearer(forged))))).toBe('bad_signature');
    expect(admin.requestCounts()).toEqual({ service: 0, policy: 0 });
  });

  it("refuse another service account's stripped token with 403", async () => {
    const token = await strippedToken({ email: 'reader@acme-prod.iam.gserviceaccount.com' });
    const error = await caught(() => authenticateSchedulerCaller(runtime(), bearer(token)));
    expect(error).toMatchObject({ code: 'caller_not_allowed', status: 403 });
  });

  it('refuse an expired or wrong-audience stripped token with 401, before any Admin API call', async () => {
    const broker = runtime();
    const expired = await strippedToken({ issuedAt: new Date(Date.now() - 2 * 3600_000) });
    expect(rejectionReason(await caught(() => authenticateSchedulerCaller(broker, bearer(expired))))).toBe('expired');
    const elsewhere = await strippedToken({ audience: 'https://europe-west1-acme-prod.cloudfunctions.net/oauth-broker-token' });
    const error = await caught(() => authenticateSchedulerCaller(broker, bearer(elsewhere)));
    expect(error).toMatchObject({ code: 'unauthenticated', status: 401 });
    expect(rejectionReason(error)).toBe('wrong_audience');
    expect(admin.requestCounts()).toEqual({ service: 0, policy: 0 });
  });

  it('refuse a stripped Authorization token beside X-Serverless-Authorization: IAM checked the other header, not this one', async () => {
    const headers = { rawHeaders: [...bearer(await strippedToken()).rawHeaders, 'X-Serverless-Authorization', `Bearer ${await strippedToken({ email: 'reader@acme-prod.iam.gserviceaccount.com' })}`] };
    expect(rejectionReason(await caught(() => authenticateSchedulerCaller(runtime(), headers)))).toBe('signature_removed');
  });

  it('refuse on a service with a public invoker binding, naming the binding and the fix', async () => {
    admin.setService(SERVICE_NAME, { bindings: [SCHEDULER_INVOKER, { role: 'roles/run.invoker', members: ['allUsers'] }] });
    const token = await strippedToken();
    const error = await caught(() => authenticateSchedulerCaller(runtime(), bearer(token)));
    expect(error).toMatchObject({ code: 'misconfigured', status: 500 });
    expect((error as Error).message).toContain(`${SERVICE_NAME} grants roles/run.invoker to allUsers`);
    expect((error as Error).message).toContain('remove-iam-policy-binding');
  });

  it('refuse on a service whose invoker IAM check is disabled', async () => {
    admin.setService(SERVICE_NAME, { invokerIamDisabled: true, bindings: [SCHEDULER_INVOKER] });
    const token = await strippedToken();
    const error = await caught(() => authenticateSchedulerCaller(runtime(), bearer(token)));
    expect(error).toMatchObject({ code: 'misconfigured', status: 500, details: { check: 'invoker_iam_disabled' } });
    expect((error as Error).message).toContain('--invoker-iam-check');
  });

  it('refuse with 503 while the Admin API fails, and try again on a later request', async () => {
    const clock = new ManualClock(Date.now());
    const broker = runtime({}, clock);
    admin.failWith(503);
    const token = await strippedToken();
    const error = await caught(() => authenticateSchedulerCaller(broker, bearer(token)));
    expect(error).toMatchObject({ code: 'identity_unavailable', status: 503, retryAfterSeconds: 5 });
    admin.failWith(undefined);
    clock.advance(5_000);
    expect((await authenticateSchedulerCaller(broker, bearer(await strippedToken()))).email).toBe(SCHEDULER);
    expect(admin.requestCounts()).toEqual({ service: 2, policy: 2 });
  });

  it('refuse with a misconfiguration naming the missing role when the runtime may not read its service', async () => {
    admin.failWith(403);
    const token = await strippedToken();
    const error = await caught(() => authenticateSchedulerCaller(runtime(), bearer(token)));
    expect(error).toMatchObject({ code: 'misconfigured', status: 500 });
    expect((error as Error).message).toContain('roles/run.viewer');
  });

  it('refuse with a misconfiguration when the service is not where K_SERVICE and the region say', async () => {
    const token = await strippedToken();
    const error = await caught(() => authenticateSchedulerCaller(runtime({ K_SERVICE: 'oauth-broker-elsewhere' }), bearer(token)));
    expect(error).toMatchObject({ code: 'misconfigured', status: 500 });
    expect((error as Error).message).toContain('services/oauth-broker-elsewhere was not found');
  });
});
