// Request quotas (issue 14, finding 8) through HTTP against the local stack: each function in its own process, with
// CALLER_QUOTAS given by its manifest entry. Windows of a few seconds, since a separate process's clock is the real one
// (test/shared/quotas/request-quotas.test.ts drives the same buckets with an injected clock).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FunctionName } from '../../functions/names.js';
import { createIdTokenSigner, type IdTokenSigner } from '../../local/id-token-issuer.js';
import { type LocalStack, startLocalStack } from '../../local/local-stack.js';
import { testProjectId } from '../support/firestore-test-project.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const callers = {
  web: 'web-backend@quota-test.iam.gserviceaccount.com',
  batch: 'batch-worker@quota-test.iam.gserviceaccount.com',
  unlimited: 'trusted-exporter@quota-test.iam.gserviceaccount.com',
  stranger: 'stranger@elsewhere.iam.gserviceaccount.com',
} as const;

const everything = ['connect', 'manage_connections', 'read_token'];
const callerPolicy = [callers.web, callers.batch, callers.unlimited].map((serviceAccount) => ({ serviceAccount, tenants: '*', providers: '*', actions: everything }));

const callerQuotas = {
  // A permit every 5 s per caller and every 10 s per tenant: room for slow requests before one refills, and a short
  // wait for the caller's.
  token: { perCaller: { requests: 2, perSeconds: 10 }, perTenant: { requests: 3, perSeconds: 30 } },
  authorize: { perCaller: { requests: 1, perSeconds: 60 } },
  connections: { perTenant: { requests: 1, perSeconds: 60 } },
  callers: { [callers.unlimited]: 'unlimited' },
};

interface Answer {
  readonly status: number;
  readonly code: string | undefined;
  readonly scope: unknown;
  readonly retryAfter: string | null;
}

describe('request quotas, against the local stack', () => {
  let stateDir = '';
  let stack: LocalStack;
  let signer: IdTokenSigner;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'broker-quotas-'));
    stack = await startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      projectId: testProjectId('quotas'),
      env: {
        FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'),
        PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'),
        LOG_LEVEL: 'ERROR',
        SWEEP_INTERVAL_SECONDS: '86400',
        CALLER_POLICY: JSON.stringify(callerPolicy),
        CALLER_QUOTAS: JSON.stringify(callerQuotas),
      },
    });
    signer = await createIdTokenSigner({ dataDir: join(stateDir, 'id-token-issuer') });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  async function call(name: FunctionName, caller: string, request: { method?: string; path?: string; body?: unknown } = {}): Promise<Answer> {
    const url = `${stack.description.functionsOrigin}/${name}`;
    const res = await fetch(`${url}${request.path ?? '/'}`, {
      method: request.method ?? 'POST',
      headers: { authorization: `Bearer ${await signer.mint({ email: caller, audience: url })}`, 'content-type': 'application/json' },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    });
    const body = (await res.json()) as { code?: string; details?: { scope?: unknown } };
    return { status: res.status, code: body.code, scope: body.details?.scope, retryAfter: res.headers.get('retry-after') };
  }

  const readToken = (caller: string, tenantId = 'tenant-token') => call('token', caller, { body: { tenantId, userId: 'nobody', provider: 'slack' } });
  const statusesOf = (answers: readonly Answer[]) => answers.map((answer) => (answer.status === 429 ? `429 ${String(answer.scope)}` : answer.status));

  it('answers token reads over a caller’s or a tenant’s quota with 429 and Retry-After, and serves them again once it refills', async () => {
    // The first read loads the function's clients: made by the uncounted caller, so the counted ones are quick.
    expect((await readToken(callers.unlimited)).status).toBe(404);
    // No such connection (404) means the read got past the quotas; the caller's two permits, then its refusal.
    const first = [await readToken(callers.web), await readToken(callers.web), await readToken(callers.web)];
    expect(statusesOf(first)).toEqual([404, 404, '429 caller']);
    const refused = first[2] as Answer;
    expect(refused.code).toBe('quota_exceeded');
    const retryAfter = Number(refused.retryAfter);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(5);
    // The tenant's third permit goes to the next caller; its fourth request is the tenant's to refuse.
    expect(statusesOf([await readToken(callers.batch), await readToken(callers.batch)])).toEqual([404, '429 tenant']);
    // A caller the policy does not let act for the tenant is refused by the policy, and takes nothing from the tenant.
    expect(statusesOf([await readToken(callers.stranger)])).toEqual([403]);
    // The off-switch: the unlimited caller is never counted.
    const unlimited = await Promise.all(Array.from({ length: 8 }, () => readToken(callers.unlimited)));
    expect(statusesOf(unlimited)).toEqual(Array.from({ length: 8 }, () => 404));
    // Once Retry-After has passed, the refused caller is served again (asking for another tenant: this one's bucket
    // refills more slowly).
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 100));
    expect(statusesOf([await readToken(callers.web, 'tenant-token-2')])).toEqual([404]);
  });

  it('answers a caller over its authorize quota with 429, and leaves other callers alone', async () => {
    const connect = (caller: string) =>
      call('authorize', caller, { body: { tenantId: 'tenant-connect', userId: 'u-1', provider: 'slack', returnUrl: stack.description.returnUrl } });
    const answers = [await connect(callers.web), await connect(callers.web), await connect(callers.batch), await connect(callers.unlimited), await connect(callers.unlimited)];
    expect(statusesOf(answers)).toEqual([200, '429 caller', 200, 200, 200]);
    expect(Number(answers[1]?.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('answers a tenant over its connections quota with 429 whoever asks, and leaves other tenants alone', async () => {
    const list = (caller: string, tenantId: string) => call('connections', caller, { method: 'GET', path: `/?tenantId=${tenantId}&userId=u-1` });
    const answers = [await list(callers.web, 'tenant-list'), await list(callers.batch, 'tenant-list'), await list(callers.batch, 'tenant-other')];
    expect(statusesOf(answers)).toEqual([200, '429 tenant', 200]);
  });
});
