// The proxy function on the production-shaped local stack, over HTTP only: every built-in provider's sandbox API
// reached with the connection's own token on the provider's own host; calls outside the caller's API rules refused
// without an outbound request; a refresh before an expired token is used, one refresh and one replay on a 401; 429
// passed through; 50 MB streamed both ways in little memory; and every way out of the provider's API refused.
import { createHash } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Firestore } from '@google-cloud/firestore';
import type { GoogleAuth } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrokerClient, createBrokerClient } from '../../client/broker-client.js';
import { isBrokerClientError } from '../../client/broker-client-error.js';
import { type LocalStack, localIdentities, startLocalStack } from '../../local/local-stack.js';
import { SMART_BASE } from '../../local/provider-sandbox/profiles.js';
import { loadConfig } from '../../shared/config/config.js';
import { collectionNames } from '../../shared/store/collections.js';
import { readConnection } from '../../shared/store/connection-reads.js';
import { createFirestore } from '../../shared/store/firestore-client.js';
import { testProjectId } from '../support/firestore-test-project.js';
import { createStackHttp, sandboxApproves, type StackHttp } from '../support/stack-http.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tenantId = localIdentities.demoTenant;
const MB = 1024 * 1024;

interface ProviderCase {
  readonly provider: string;
  readonly host: string;
  readonly identity: readonly [method: 'GET' | 'POST', path: string];
  readonly list: readonly [method: 'GET' | 'POST', path: string];
  readonly connectionConfig?: Record<string, string>;
}

/** Every built-in provider the proxy serves: its API host, and the identity and list calls of its sandbox API. */
const cases: readonly ProviderCase[] = [
  { provider: 'slack', host: 'slack.com', identity: ['POST', '/auth.test'], list: ['GET', '/conversations.list'] },
  { provider: 'google', host: 'www.googleapis.com', identity: ['GET', '/gmail/v1/users/me/profile'], list: ['GET', '/gmail/v1/users/me/messages'] },
  { provider: 'microsoft', host: 'graph.microsoft.com', identity: ['GET', '/v1.0/me'], list: ['GET', '/v1.0/me/messages'] },
  { provider: 'notion', host: 'api.notion.com', identity: ['GET', '/v1/users/me'], list: ['GET', '/v1/users'] },
  { provider: 'salesforce', host: 'sandbox-org.my.salesforce.com', identity: ['GET', '/services/data/v62.0/chatter/users/me'], list: ['GET', '/services/data/v62.0/sobjects'] },
  { provider: 'hubspot', host: 'api.hubapi.com', identity: ['GET', '/account-info/2026-03/details'], list: ['GET', '/crm/v3/objects/contacts'] },
  { provider: 'dropbox', host: 'api.dropboxapi.com', identity: ['POST', '/2/users/get_current_account'], list: ['POST', '/2/files/list_folder'] },
  { provider: 'asana', host: 'app.asana.com', identity: ['GET', '/users/me'], list: ['GET', '/workspaces'] },
  { provider: 'github', host: 'api.github.com', identity: ['GET', '/user'], list: ['GET', '/user/repos'] },
  { provider: 'github_app', host: 'api.github.com', identity: ['GET', '/user'], list: ['GET', '/user/repos'] },
  { provider: 'atlassian', host: 'api.atlassian.com', identity: ['GET', '/rest/api/3/myself'], list: ['GET', '/rest/api/3/project/search'] },
  { provider: 'zoom', host: 'api.zoom.us', identity: ['GET', '/users/me'], list: ['GET', '/users/me/meetings'] },
  { provider: 'smart_on_fhir', host: 'fhir.sandbox.test', identity: ['GET', '/metadata'], list: ['GET', '/Patient'], connectionConfig: { fhirBaseUrl: SMART_BASE } },
];

/** The demo backend's API rules: exactly the calls above, and Google's media upload and download. */
const apiRules = Object.fromEntries(
  cases.map(({ provider, identity, list }) => [
    provider,
    [`${identity[0]} ${identity[1]}`, `${list[0]} ${list[1]}`, ...(provider === 'google' ? ['POST /upload/drive/v3/files', 'GET /drive/v3/files/*'] : [])],
  ]),
);

interface Memory {
  readonly rssBytes: number;
  readonly peakBytes: number;
}

async function memoryOf(pid: number): Promise<Memory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kilobytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]) * 1024;
  return { rssBytes: kilobytes('VmRSS'), peakBytes: kilobytes('VmHWM') };
}

/** A request with its target exactly as given (fetch would normalise dot segments and backslashes away). */
function rawRequest(origin: string, target: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(origin);
    const req = request({ host: hostname, port, method: 'GET', path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the proxy function on the local stack', () => {
  let stateDir = '';
  let stack: LocalStack;
  let http: StackHttp;
  let client: BrokerClient;
  let firestore: Firestore;
  const proxyLog: string[] = [];
  const connectionIds: Record<string, string> = {};

  const connect = async (providerCase: ProviderCase, userId: string): Promise<string> => {
    const end = await http.connectInBrowser(providerCase.provider, userId, sandboxApproves(stack), {
      ...(providerCase.connectionConfig === undefined ? {} : { connectionConfig: providerCase.connectionConfig }),
    });
    return (await http.confirmAsProduct(end, userId)).connectionId;
  };
  const caseOf = (provider: string) => cases.find((each) => each.provider === provider) as ProviderCase;
  const outboundCalls = () => Object.values(stack.sandbox.callCounts()).reduce((sum, count) => sum + count, 0);

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'broker-proxy-'));
    stack = await startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      projectId: testProjectId('proxy-stack'),
      env: {
        FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'),
        PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'),
        SWEEP_INTERVAL_SECONDS: '86400',
        CALLER_POLICY: JSON.stringify([
          {
            serviceAccount: localIdentities.demoCaller,
            tenants: [tenantId],
            providers: '*',
            actions: ['connect', 'manage_connections', 'read_token', 'call_api'],
            api: apiRules,
          },
        ]),
      },
      onFunctionLog: (name, line) => {
        if (name === 'proxy') proxyLog.push(line);
      },
    });
    http = await createStackHttp(stack, stateDir, tenantId);
    firestore = createFirestore(loadConfig(stack.functionEnv));
    const proxyUrl = stack.description.functions.proxy as string;
    // The ID token google-auth-library would fetch, minted by the local issuer for the proxy's audience.
    const auth = {
      getIdTokenClient: async (audience: string) => {
        expect(audience).toBe(proxyUrl);
        return { getRequestHeaders: async () => ({ Authorization: `Bearer ${await http.mint(localIdentities.demoCaller, 'proxy')}` }) };
      },
    } as unknown as Pick<GoogleAuth, 'getIdTokenClient'>;
    client = createBrokerClient({ tokenUrl: stack.description.functions.token as string, proxyUrl, auth });
    for (const providerCase of cases) connectionIds[providerCase.provider] = await connect(providerCase, 'proxy-user');
  }, 240_000);

  afterAll(async () => {
    await firestore?.terminate();
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it.each(cases)('reaches $provider\'s API on $host with the connection\'s own token', async (providerCase) => {
    const { provider, host } = providerCase;
    const { accessToken } = await http.readToken({ userId: 'proxy-user', provider });
    for (const [method, path] of [providerCase.identity, providerCase.list]) {
      stack.sandbox.resetCalls();
      const response = await client.fetch(provider, path, { method, ...(method === 'POST' ? { body: 'null', headers: { 'content-type': 'application/json' } } : {}) }, { tenantId, userId: 'proxy-user' });
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      expect(response.headers.get('x-broker-error')).toBeNull();
      expect(await response.json()).toBeTruthy();
      const seen = stack.sandbox.apiRequests();
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ provider, method, host, tokenValid: true });
      expect(seen[0]?.path.endsWith(path)).toBe(true);
      expect(seen[0]?.bearer).toBe(accessToken);
    }
  });

  it('refuses a call outside the caller\'s API rules with 403 proxy_not_allowed, audited, and no outbound request', async () => {
    stack.sandbox.resetCalls();
    const lines = proxyLog.length;
    for (const [provider, method, path] of [
      ['slack', 'POST', '/chat.postMessage'],
      ['google', 'DELETE', '/gmail/v1/users/me/messages'],
      ['google', 'GET', '/gmail/v1/users/me/messages/m1/attachments/a1'],
      ['github', 'GET', '/user/repos/extra'],
    ] as const) {
      const refused = await client.fetch(provider, path, { method }, { tenantId, userId: 'proxy-user' }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isBrokerClientError(refused, 'proxy_not_allowed') && refused.status === 403).toBe(true);
    }
    expect(outboundCalls()).toBe(0);
    const denied = proxyLog.slice(lines).filter((line) => line.includes('"audit.proxy_call"') && line.includes('"denied"'));
    expect(denied).toHaveLength(4);
    const audit = await firestore.collection(collectionNames.auditLog).where('action', '==', 'proxy.denied').get();
    expect(audit.size).toBeGreaterThanOrEqual(4);
  });

  it('refreshes an expired token once before the call, which then succeeds', async () => {
    stack.sandbox.configure('zoom', { tokenLifetimeSeconds: 1 });
    try {
      await connect(caseOf('zoom'), 'expiring-user');
    } finally {
      stack.sandbox.configure('zoom', { tokenLifetimeSeconds: 3599 });
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    stack.sandbox.resetCalls();
    const response = await client.fetch('zoom', '/users/me', undefined, { tenantId, userId: 'expiring-user' });
    expect(response.status).toBe(200);
    expect(stack.sandbox.calls('zoom', 'refresh')).toBe(1);
    expect(stack.sandbox.apiRequests().map((seen) => seen.tokenValid)).toEqual([true]);
  });

  it('answers a 401 with one refresh and one replay; a second 401 is passed back and marks the connection unhealthy', async () => {
    const connectionId = await connect(caseOf('hubspot'), 'rejected-user');
    stack.sandbox.failNext('hubspot', 'api', { kind: 'status', status: 401 }, 2);
    stack.sandbox.resetCalls();
    const response = await client.fetch('hubspot', '/crm/v3/objects/contacts', undefined, { tenantId, userId: 'rejected-user' });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-broker-error')).toBeNull();
    expect(stack.sandbox.calls('hubspot', 'refresh')).toBe(1);
    expect(stack.sandbox.calls('hubspot', 'api')).toBe(2);
    const stored = await readConnection(firestore, connectionId);
    expect(stored?.document.health).toMatchObject({ status: 'unhealthy', errorCode: 'proxy_unauthorized' });
    // The next call that succeeds clears the proxy's mark.
    expect((await client.fetch('hubspot', '/crm/v3/objects/contacts', undefined, { tenantId, userId: 'rejected-user' })).status).toBe(200);
    expect((await readConnection(firestore, connectionId))?.document.health).toMatchObject({ status: 'healthy', errorCode: null });
  });

  it('passes a 429 back with its Retry-After and counts it against the connection\'s health', async () => {
    stack.sandbox.failNext('slack', 'api', { kind: 'status', status: 429, retryAfter: '7' }, 1);
    const response = await client.fetch('slack', '/conversations.list', undefined, { tenantId, userId: 'proxy-user' });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    const stored = await readConnection(firestore, connectionIds.slack as string);
    expect(stored?.document.health).toMatchObject({ status: 'unhealthy', errorCode: 'proxy_rate_limited' });
  });

  it('streams a 50 MB upload and a 50 MB download with the proxy growing under 30 MB', async () => {
    const pid = stack.description.functionProcesses.proxy?.pid as number;
    const connection = { tenantId, userId: 'proxy-user' };
    const chunk = Buffer.alloc(MB, 0x61);
    const upload = (size: number) => {
      let sent = 0;
      return client.fetch(
        'google',
        '/upload/drive/v3/files',
        {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: new ReadableStream({
            pull(controller) {
              if (sent >= size) {
                controller.close();
                return;
              }
              controller.enqueue(new Uint8Array(chunk));
              sent += chunk.length;
            },
          }),
          duplex: 'half',
        } as RequestInit,
        connection,
      );
    };
    const download = async (size: number) => {
      const response = await client.fetch('google', `/drive/v3/files/${size}-bytes?alt=media`, undefined, connection);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(size));
      let received = 0;
      for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) received += part.byteLength;
      return received;
    };
    // First, many small transfers each way, more than the measured volume in all. A streaming process leaves what it
    // relays as garbage until V8's next full collection, which it schedules by heap size and GC pace (a CI run measured
    // 43 MB of growth after a single warm-up transfer): these bring the process to that ceiling while it never holds
    // more than 1 MB of a body, so what the 50 MB transfers add next is what holding a body would cost, not when the
    // collector ran.
    for (let round = 0; round < 32; round += 1) {
      expect((await upload(MB)).status).toBe(200);
      expect(await download(MB)).toBe(MB);
    }
    const before = await memoryOf(pid);
    const size = 50 * MB;
    const uploaded = await upload(size);
    expect(uploaded.status).toBe(200);
    const expectedDigest = createHash('sha256');
    for (let index = 0; index < 50; index += 1) expectedDigest.update(chunk);
    expect(await uploaded.json()).toEqual({ kind: 'drive#file', size: String(size), sha256Checksum: expectedDigest.digest('hex') });
    const afterUpload = await memoryOf(pid);
    expect(await download(size)).toBe(size);
    const after = await memoryOf(pid);
    console.info(
      `proxy RSS ${(before.rssBytes / MB).toFixed(1)} MB before, ${(afterUpload.rssBytes / MB).toFixed(1)} after the upload, ` +
        `${(after.rssBytes / MB).toFixed(1)} after the download; peak ${(before.peakBytes / MB).toFixed(1)} -> ${(after.peakBytes / MB).toFixed(1)} MB`,
    );
    expect(after.rssBytes - before.rssBytes).toBeLessThan(30 * MB);
    expect(after.peakBytes - before.peakBytes).toBeLessThan(30 * MB);
  }, 60_000);

  it('refuses every way out of the provider\'s API with 400 invalid_proxy_path, before any outbound request', async () => {
    // Straight to the function's own process: the stack's front proxy would normalise some of these itself.
    const origin = stack.description.functionProcesses.proxy?.origin as string;
    const headers = { authorization: `Bearer ${await http.mint(localIdentities.demoCaller, 'proxy')}`, 'x-broker-tenant-id': tenantId, 'x-broker-user-id': 'proxy-user' };
    const attempts: readonly [target: string, reason: string][] = [
      ['http://evil.test/slack/auth.test', 'not_origin_form'],
      ['//evil.test/slack/auth.test', 'not_origin_form'],
      ['/slack@evil.test/auth.test', 'userinfo'],
      ['/slack/auth.test@evil.test', 'userinfo'],
      ['/slack\\evil.test/auth.test', 'backslash'],
      ['/slack/..\\..\\evil.test', 'backslash'],
      ['/slack/%2f%2fevil.test/auth.test', 'encoded_separator'],
      ['/slack/%5cevil.test', 'encoded_separator'],
      ['/slack/%2e%2e/%2e%2e/evil.test', 'encoded_separator'],
      ['/slack/%252e%252e/evil.test', 'encoded_separator'],
      ['/slack/../../evil.test/auth.test', 'dot_segment'],
      ['/slack/./auth.test', 'dot_segment'],
      ['/slack//evil.test/auth.test', 'empty_segment'],
      ['/Evil.test/auth.test', 'provider_id'],
    ];
    stack.sandbox.resetCalls();
    for (const [target, reason] of attempts) {
      const answer = await rawRequest(origin, target, headers);
      expect({ target, status: answer.status, body: JSON.parse(answer.body) as unknown }).toMatchObject({
        target,
        status: 400,
        body: { code: 'invalid_proxy_path', details: { reason } },
      });
    }
    expect(outboundCalls()).toBe(0);
  });
});
