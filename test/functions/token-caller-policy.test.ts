// Least privilege at the token function: every cross-tenant and cross-provider request is denied, and every denial is audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionNames } from '../../shared/store/collections.js';
import { connectAtSandbox } from '../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../support/firestore-test-project.js';
import { startTokenFunctionStack, type TokenFunctionStack } from './token-function-stack.js';

const project = useFirestoreTestProject('token-caller-policy');
const ACME_READER = 'acme-reader@acme-prod.iam.gserviceaccount.com';
const STRANGER = 'stranger@other-project.iam.gserviceaccount.com';
const TENANTS = ['acme', 'globex', 'initech'];
const PROVIDERS = ['zoom', 'slack', 'google'];
let stack: TokenFunctionStack;

beforeAll(async () => {
  stack = await startTokenFunctionStack({
    project,
    providers: ['zoom'],
    callerPolicy: [{ serviceAccount: ACME_READER, tenants: ['acme'], providers: ['zoom'], actions: ['read_token'] }],
  });
  // Real connections exist for the tenants the caller may not read: a denial must not depend on that.
  for (const tenantId of TENANTS) {
    await connectAtSandbox({ firestore: project.firestore, vault: stack.vault, sandbox: stack.sandbox, client: stack.clients.zoom!, provider: 'zoom', tenantId, userId: 'u-1' });
  }
});

afterAll(async () => {
  await stack?.stop();
});

describe('caller policy at the token function', () => {
  it('denies 100 % of cross-tenant and cross-provider requests, audits each one, and still serves the allowed pair', async () => {
    const attempts: { email: string; tenantId: string; provider: string }[] = [];
    for (const tenantId of TENANTS) {
      for (const provider of PROVIDERS) {
        if (!(tenantId === 'acme' && provider === 'zoom')) attempts.push({ email: ACME_READER, tenantId, provider });
        attempts.push({ email: STRANGER, tenantId, provider });
      }
    }
    const responses = await Promise.all(
      attempts.map(async (attempt) => {
        const response = await stack.post({ tenantId: attempt.tenantId, userId: 'u-1', provider: attempt.provider }, { email: attempt.email });
        return { status: response.status, body: (await response.json()) as { code: string; accessToken?: string } };
      }),
    );
    expect(responses.filter((response) => response.status === 403 && response.body.code === 'caller_not_allowed')).toHaveLength(attempts.length);
    expect(responses.some((response) => response.body.accessToken !== undefined)).toBe(false);

    const audit = await project.firestore.collection(collectionNames.auditLog).where('action', '==', 'token.denied').get();
    const entries = audit.docs.map((doc) => doc.data() as { actor: { id: string }; tenantId: string; provider: string; outcome: string });
    expect(entries.map((entry) => `${entry.actor.id} ${entry.tenantId} ${entry.provider} ${entry.outcome}`).sort()).toEqual(
      attempts.map((attempt) => `${attempt.email} ${attempt.tenantId} ${attempt.provider} denied`).sort(),
    );

    const allowed = await stack.post({ tenantId: 'acme', userId: 'u-1', provider: 'zoom' }, { email: ACME_READER });
    expect(allowed.status).toBe(200);
  });
});
