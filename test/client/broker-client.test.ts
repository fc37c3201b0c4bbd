// The client library with the real google-auth-library (ID tokens from the metadata-server stand-in) against a real token function.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBrokerClient } from '../../client/broker-client.js';
import { BrokerClientError } from '../../client/broker-client-error.js';
import { connectAtSandbox, setStoredExpiry } from '../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../support/firestore-test-project.js';
import { type MetadataServer, startMetadataServer } from '../../local/metadata-server.js';
import { startTokenFunctionStack, type TokenFunctionStack } from '../functions/token-function-stack.js';

const project = useFirestoreTestProject('broker-client');
const CALLER = 'billing-sync@acme-prod.iam.gserviceaccount.com';
let stack: TokenFunctionStack;
let metadata: MetadataServer;
let home: string;
let calls = 0;
const countingFetch: typeof fetch = (input, init) => {
  calls += 1;
  return fetch(input, init);
};

beforeAll(async () => {
  stack = await startTokenFunctionStack({
    project,
    providers: ['zoom'],
    callerPolicy: [{ serviceAccount: CALLER, tenants: ['acme'], providers: ['zoom'], actions: ['read_token'] }],
    // Short backoff, so a retry after the broker's Retry-After lands within the test.
    env: { REFRESH_BACKOFF_BASE_SECONDS: '1', REFRESH_BACKOFF_MAX_SECONDS: '1' },
  });
  metadata = await startMetadataServer({ issuer: stack.issuer, serviceAccountEmail: CALLER, projectId: 'acme-prod' });
  // Nothing may find real credentials or the real metadata server: an empty HOME and the stand-in as metadata host.
  home = await mkdtemp(join(tmpdir(), 'broker-client-home-'));
  vi.stubEnv('HOME', home);
  vi.stubEnv('CLOUDSDK_CONFIG', join(home, 'gcloud'));
  vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', '');
  vi.stubEnv('GCE_METADATA_HOST', metadata.host);
  vi.stubEnv('GCE_METADATA_IP', '');
  vi.stubEnv('METADATA_SERVER_DETECTION', 'ping-only');
});

afterAll(async () => {
  await stack?.stop();
  await metadata?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

beforeEach(() => {
  calls = 0;
});

const client = (overrides: Partial<Parameters<typeof createBrokerClient>[0]> = {}) =>
  createBrokerClient({ tokenUrl: stack.url, audience: stack.audience, fetch: countingFetch, ...overrides });

describe('broker client', () => {
  it('authenticates with an ID token from google-auth-library, caches the access token and shares in-flight requests', async () => {
    const { grant } = await connectAtSandbox({ firestore: project.firestore, vault: stack.vault, sandbox: stack.sandbox, client: stack.clients.zoom!, provider: 'zoom', tenantId: 'acme', userId: 'u-cache' });
    const broker = client();
    const [first, second] = await Promise.all([
      broker.getToken({ tenantId: 'acme', userId: 'u-cache', provider: 'zoom' }),
      broker.getToken({ tenantId: 'acme', userId: 'u-cache', provider: 'zoom' }),
    ]);
    expect(first.accessToken).toBe(grant.accessToken);
    expect(second).toBe(first);
    expect(first.expiresAt).toEqual(new Date(grant.expiresAtMs!));
    expect(calls).toBe(1);
    expect(metadata.identityAudiences()).toContain(stack.audience);

    // Cached: no second call; a different request (other margin) is its own entry.
    await broker.getToken({ tenantId: 'acme', userId: 'u-cache', provider: 'zoom' });
    expect(calls).toBe(1);
    await broker.getToken({ tenantId: 'acme', userId: 'u-cache', provider: 'zoom', minValiditySeconds: 120 });
    expect(calls).toBe(2);
  });

  it('does not serve a cached token past its expiry minus the margin', async () => {
    const { connectionId } = await connectAtSandbox({ firestore: project.firestore, vault: stack.vault, sandbox: stack.sandbox, client: stack.clients.zoom!, provider: 'zoom', tenantId: 'acme', userId: 'u-expiry' });
    let nowMs = Date.now();
    const broker = client({ now: () => nowMs, expirySkewSeconds: 60 });
    const first = await broker.getToken({ tenantId: 'acme', userId: 'u-expiry', provider: 'zoom' });
    nowMs = first.expiresAt!.getTime() - 61_000;
    await broker.getToken({ tenantId: 'acme', userId: 'u-expiry', provider: 'zoom' });
    expect(calls).toBe(1);
    nowMs = first.expiresAt!.getTime() - 59_000;
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1000);
    const renewed = await broker.getToken({ tenantId: 'acme', userId: 'u-expiry', provider: 'zoom' });
    expect(calls).toBe(2);
    expect(renewed.accessToken).not.toBe(first.accessToken);
  });

  it('retries provider_unavailable after the Retry-After the broker sends, then succeeds', async () => {
    const { connectionId } = await connectAtSandbox({ firestore: project.firestore, vault: stack.vault, sandbox: stack.sandbox, client: stack.clients.zoom!, provider: 'zoom', tenantId: 'acme', userId: 'u-retry' });
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1000);
    stack.sandbox.failNext('zoom', 'refresh', { kind: 'status', status: 503, retryAfter: '1' });
    const waits: number[] = [];
    const broker = client({ sleep: (ms) => { waits.push(ms); return new Promise((resolve) => setTimeout(resolve, ms)); } });
    const token = await broker.getToken({ tenantId: 'acme', userId: 'u-retry', provider: 'zoom' });
    expect(token.accessToken).toMatch(/^eyJzdiI\.sbx-/);
    expect(calls).toBe(2);
    expect(waits).toEqual([1000]);
  });

  it('gives up at once when the broker asks to wait longer than the caller would', async () => {
    const { connectionId } = await connectAtSandbox({ firestore: project.firestore, vault: stack.vault, sandbox: stack.sandbox, client: stack.clients.zoom!, provider: 'zoom', tenantId: 'acme', userId: 'u-later' });
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1000);
    stack.sandbox.failNext('zoom', 'refresh', { kind: 'status', status: 429, retryAfter: '600' });
    const error = await client().getToken({ tenantId: 'acme', userId: 'u-later', provider: 'zoom' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BrokerClientError);
    expect(error).toMatchObject({ code: 'provider_unavailable', status: 503, retryable: true });
    expect((error as BrokerClientError).retryAfterSeconds).toBeGreaterThanOrEqual(590);
    expect(calls).toBe(1);
  });

  it("surfaces the broker's problem codes as typed errors without retrying them", async () => {
    const error = await client().getToken({ tenantId: 'acme', userId: 'u-nobody', provider: 'zoom' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'BrokerClientError', code: 'not_connected', status: 404, retryable: false });
    const denied = await client().getToken({ tenantId: 'globex', userId: 'u-1', provider: 'zoom' }).catch((caught: unknown) => caught);
    expect(denied).toMatchObject({ code: 'caller_not_allowed', status: 403 });
    expect(calls).toBe(2);
  });

  it('retries an unreachable broker a bounded number of times', async () => {
    const broker = createBrokerClient({ tokenUrl: 'http://127.0.0.1:9/token', audience: stack.audience, fetch: countingFetch, maxAttempts: 3, sleep: async () => undefined });
    await expect(broker.getToken({ tenantId: 'acme', provider: 'zoom' })).rejects.toMatchObject({ code: 'broker_unreachable', retryable: true });
    expect(calls).toBe(3);
  });

  it('refuses caller mistakes as TypeErrors', () => {
    expect(() => createBrokerClient({ tokenUrl: 'not a url' })).toThrow(TypeError);
    expect(() => client().getToken({ tenantId: '', provider: 'zoom' })).toThrow(TypeError);
  });

  it('stays light: the client imports nothing from the broker at run time', async () => {
    const directory = new URL('../../client/', import.meta.url);
    for (const file of (await readdir(directory)).filter((name) => name.endsWith('.ts'))) {
      const source = await readFile(new URL(file, directory), 'utf8');
      const runtimeImports = [...source.matchAll(/^import (?!type )[^;]*from '([^']+)'/gm)].map((match) => match[1]);
      expect(runtimeImports.filter((specifier) => specifier?.startsWith('..')), file).toEqual([]);
    }
  });
});
