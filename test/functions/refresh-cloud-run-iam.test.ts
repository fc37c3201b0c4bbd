// The deployed shape of the refresh function with CLOUD_RUN_IAM_VERIFIED_CALLERS=scheduler: Cloud Scheduler's token arrives
// stripped of its signature (as Cloud Run hands it over) and runs the sweep once the service is proven IAM-protected.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudRunAdminStandin, startCloudRunAdminStandin } from '../../local/cloud-run-admin-standin.js';
import { connectAtSandbox, setStoredExpiry } from '../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../support/firestore-test-project.js';
import { createIdTokenSigner } from '../../local/id-token-issuer.js';
import { type MetadataServer, startMetadataServer } from '../../local/metadata-server.js';
import { SCHEDULER, startSweepFunctionStack, type SweepFunctionStack } from './sweep-function-stack.js';

const project = useFirestoreTestProject('refresh-cloud-run-iam');
const SERVICE = 'oauth-broker-refresh';
let serviceName: string;
let home: string;
let metadata: MetadataServer;
let admin: CloudRunAdminStandin;
let stack: SweepFunctionStack;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'refresh-cloud-run-iam-'));
  serviceName = `projects/${project.projectId}/locations/europe-west1/services/${SERVICE}`;
  const signer = await createIdTokenSigner();
  metadata = await startMetadataServer({
    issuer: signer,
    serviceAccountEmail: 'oauth-broker-refresh@acme-prod.iam.gserviceaccount.com',
    projectId: project.projectId,
    region: 'europe-west1',
  });
  admin = await startCloudRunAdminStandin();
  admin.setService(serviceName, { bindings: [{ role: 'roles/run.invoker', members: [`serviceAccount:${SCHEDULER}`] }] });
  stack = await startSweepFunctionStack({
    project,
    providers: ['zoom'],
    sweeps: ['refresh'],
    env: {
      CLOUD_RUN_IAM_VERIFIED_CALLERS: 'scheduler',
      K_SERVICE: SERVICE,
      CLOUD_RUN_ADMIN_API_URL: admin.url,
      // The runtime's credentials and region come from the metadata stand-in, as on Cloud Run; nothing else is reachable.
      GCE_METADATA_HOST: metadata.host,
      GCE_METADATA_IP: '',
      METADATA_SERVER_DETECTION: 'ping-only',
      GOOGLE_APPLICATION_CREDENTIALS: '',
      HOME: home,
      CLOUDSDK_CONFIG: join(home, 'gcloud'),
    },
  });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([admin?.stop(), metadata?.stop()]);
  await rm(home, { recursive: true, force: true });
});

/** Google-issued for the scheduler, then stripped by Cloud Run's IAM check. */
async function strippedSchedulerToken(options: { email?: string; issuedAt?: Date } = {}): Promise<string> {
  const token = await stack.issuer.mint({
    email: options.email ?? SCHEDULER,
    audience: stack.audiences.refresh,
    ...(options.issuedAt ? { issuedAt: options.issuedAt } : {}),
    extraClaims: { iss: 'https://accounts.google.com' },
  });
  return `${token.split('.').slice(0, 2).join('.')}.SIGNATURE_REMOVED_BY_GOOGLE`;
}

async function expiringConnection(userId: string): Promise<string> {
  const { connectionId } = await connectAtSandbox({
    firestore: project.firestore,
    vault: stack.vault,
    sandbox: stack.sandbox,
    client: stack.clients.zoom!,
    provider: 'zoom',
    tenantId: 'acme',
    userId,
  });
  await setStoredExpiry(project.firestore, connectionId, Date.now() + 60_000);
  return connectionId;
}

describe('refresh with CLOUD_RUN_IAM_VERIFIED_CALLERS=scheduler', () => {
  it('answers 503 while the Admin API fails, runs nothing, and proves the service on a later request', async () => {
    await project.clear();
    await expiringConnection('u-outage');
    stack.sandbox.resetCalls();
    admin.failWith(503);
    const refused = await stack.postWithHeaders('refresh', { authorization: `Bearer ${await strippedSchedulerToken()}` });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { code: string }).code).toBe('identity_unavailable');
    expect(stack.sandbox.calls('zoom', 'refresh')).toBe(0);

    admin.failWith(undefined);
    admin.resetCounts();
    // A failed proof is answered from memory for 5 s (DEFAULT_IAM_PROOF_RETRY_MS); after that the next request asks again.
    await new Promise((resolve) => setTimeout(resolve, 5_100));
    const response = await stack.postWithHeaders('refresh', { authorization: `Bearer ${await strippedSchedulerToken()}` });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { refreshed: number }).refreshed).toBe(1);
    expect(stack.sandbox.calls('zoom', 'refresh')).toBe(1);
    expect(admin.requestCounts()).toEqual({ service: 1, policy: 1 });
  });

  it("runs the sweep for the scheduler's stripped token without asking the Admin API again", async () => {
    await project.clear();
    await expiringConnection('u-proven');
    stack.sandbox.resetCalls();
    admin.resetCounts();
    for (let run = 0; run < 3; run += 1) {
      const response = await stack.postWithHeaders('refresh', { authorization: `Bearer ${await strippedSchedulerToken()}` });
      expect(response.status).toBe(200);
    }
    expect(stack.sandbox.calls('zoom', 'refresh')).toBe(1);
    expect(admin.requestCounts()).toEqual({ service: 0, policy: 0 });
  });

  it("refuses another account's stripped token with 403 and an expired one with 401", async () => {
    const other = await stack.postWithHeaders('refresh', {
      authorization: `Bearer ${await strippedSchedulerToken({ email: 'reader@acme-prod.iam.gserviceaccount.com' })}`,
    });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { code: string }).code).toBe('caller_not_allowed');
    const expired = await stack.postWithHeaders('refresh', {
      authorization: `Bearer ${await strippedSchedulerToken({ issuedAt: new Date(Date.now() - 2 * 3600_000) })}`,
    });
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { code: string }).code).toBe('unauthenticated');
  });

  it('still verifies an intact signed token, as callers using X-Serverless-Authorization send it', async () => {
    const response = await stack.post('refresh');
    expect(response.status).toBe(200);
  });
});
