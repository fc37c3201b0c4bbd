// Issue 14's trust boundaries, attacked from outside through HTTP against the production-shaped local stack: a SMART
// server nobody registered, a provider reply that never ends, prototype names as dashboard assets, two Authorization
// headers, and a page on a foreign name reaching the stack's port (DNS rebinding).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createIdTokenSigner } from '../../local/id-token-issuer.js';
import { type LocalStack, localIdentities, startLocalStack } from '../../local/local-stack.js';
import { SMART_BASE } from '../../local/provider-sandbox/profiles.js';
import { loadConfig } from '../../shared/config/config.js';
import { createVault, type Vault } from '../../shared/crypto/vault.js';
import { MAX_PROVIDER_REPLY_BYTES } from '../../shared/oauth/provider-http.js';
import { createFirestore } from '../../shared/store/firestore-client.js';
import { systemClock } from '../../shared/time/clock.js';
import { connectAtSandbox, FIXTURE_REDIRECT_URI, setStoredExpiry, writeConnection } from '../support/connection-fixtures.js';
import { testProjectId } from '../support/firestore-test-project.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const MB = 1024 * 1024;
/** A FHIR server nobody registered; the stack routes its production origin to the hostile server below. */
const ATTACKER_FHIR = 'https://fhir.attacker.test/r4';

interface RawAnswer {
  readonly status: number;
  readonly body: string;
}

/** An HTTP request with exactly the header lines given (repeats kept; Host too, which Node then adds no more). */
function rawRequest(url: string, method: string, headerLines: readonly string[], body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers: [...headerLines] }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The resident set of a process, from /proc: the function processes are not this one. */
async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kilobytes = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kilobytes === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kilobytes) * 1024;
}

describe('trust boundaries of the local stack', () => {
  let stateDir = '';
  let stack: LocalStack;
  let origin = '';
  let mint: (email: string, functionName: string) => Promise<string>;
  let firestore: Firestore | undefined;
  let vault: Vault | undefined;
  const functionLines: { name: string; line: string }[] = [];
  // The attacker's "FHIR server": a port on loopback counting every connection that reaches it. A refused server must
  // not even be connected to, so nothing needs to answer (nor could a request arrive before TLS, which it would fail).
  let hostile: TcpServer;
  let hostileConnections = 0;

  beforeAll(async () => {
    hostile = createTcpServer((socket) => {
      hostileConnections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    const hostileOrigin = `https://127.0.0.1:${(hostile.address() as AddressInfo).port}`;

    stateDir = await mkdtemp(join(tmpdir(), 'broker-trust-'));
    stack = await startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      projectId: testProjectId('trust-boundaries'),
      env: {
        FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'),
        PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'),
        SWEEP_INTERVAL_SECONDS: '86400',
        // As if the attacker's name resolved: the broker would reach the hostile server if it tried.
        PROVIDER_ORIGIN_OVERRIDES: JSON.stringify({ 'https://fhir.attacker.test': hostileOrigin }),
      },
      onFunctionLog: (name, line) => functionLines.push({ name, line }),
    });
    origin = stack.description.functionsOrigin;
    const signer = await createIdTokenSigner({ dataDir: join(stateDir, 'id-token-issuer') });
    mint = (email, functionName) => signer.mint({ email, audience: `${origin}/${functionName}` });
    const config = loadConfig(stack.functionEnv);
    firestore = createFirestore(config);
    vault = createVault(config, { clock: systemClock });
  });

  afterAll(async () => {
    await vault?.close();
    await firestore?.terminate();
    await stack?.stop();
    await new Promise<void>((resolve) => (hostile ? hostile.close(() => resolve()) : resolve()));
    await rm(stateDir, { recursive: true, force: true });
  });

  const callAsDemoBackend = async (functionName: 'authorize' | 'token', body: unknown) => {
    const response = await fetch(`${origin}/${functionName}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await mint(stack.description.demoCaller, functionName)}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  describe('a SMART fhirBaseUrl off the registration allowlist', () => {
    const connect = (fhirBaseUrl: string) =>
      callAsDemoBackend('authorize', {
        tenantId: stack.description.demoTenant,
        userId: 'mallory',
        provider: 'smart_on_fhir',
        returnUrl: stack.description.returnUrl,
        connectionConfig: { fhirBaseUrl },
      });

    it('is refused at authorize with 400 naming the field, and the hostile server is never contacted', async () => {
      const refused = await connect(ATTACKER_FHIR);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'invalid_connection_config', details: { provider: 'smart_on_fhir', fields: ['fhirBaseUrl'] } });
      expect(hostileConnections).toBe(0);
      // The registered server (the sandbox's) still connects: the refusal is the allowlist, not SMART as such.
      const allowed = await connect(SMART_BASE);
      expect(allowed.status).toBe(200);
    });

    it('stops a stored connection naming that server from ever refreshing there, before any request', async () => {
      if (!firestore || !vault) throw new Error('the stack did not start');
      await writeConnection(firestore, vault, {
        tenantId: stack.description.demoTenant,
        userId: 'stored-before-the-allowlist',
        provider: 'smart_on_fhir',
        providerAccountId: 'Practitioner/mallory',
        credentials: { accessToken: randomBytes(16).toString('hex'), refreshToken: randomBytes(16).toString('hex') },
        expiresAtMs: Date.now() - 60_000,
        connectionConfig: { fhirBaseUrl: ATTACKER_FHIR },
      });
      const read = await callAsDemoBackend('token', { tenantId: stack.description.demoTenant, userId: 'stored-before-the-allowlist', provider: 'smart_on_fhir' });
      expect(read.status).toBe(400);
      expect(read.body).toMatchObject({ code: 'invalid_connection_config', details: { fields: ['fhirBaseUrl'] } });
      expect(hostileConnections).toBe(0);
    });
  });

  it('ends a 450 MB provider reply as provider_error, the token function growing by less than 20 MB', async () => {
    if (!firestore || !vault) throw new Error('the stack did not start');
    const client = loadConfig(stack.functionEnv).providerClients.google as { clientId: string; clientSecret: string };
    stack.sandbox.registerClient('google', { ...client, redirectUris: [stack.description.callbackUrl, FIXTURE_REDIRECT_URI] });
    const userId = 'reply-size';
    const { connectionId } = await connectAtSandbox({ firestore, vault, sandbox: stack.sandbox, client, provider: 'google', tenantId: stack.description.demoTenant, userId });
    const readExpired = async () => {
      await setStoredExpiry(firestore as Firestore, connectionId, Date.now() - 60_000);
      return callAsDemoBackend('token', { tenantId: stack.description.demoTenant, userId, provider: 'google' });
    };
    // A first refresh loads everything a refresh needs, so what is measured next is the reply alone.
    expect((await readExpired()).status).toBe(200);

    const pid = stack.description.functionProcesses.token?.pid as number;
    stack.sandbox.failNext('google', 'refresh', { kind: 'oversized', bytes: 450 * MB });
    const before = await residentBytes(pid);
    const started = performance.now();
    const oversized = await readExpired();
    const elapsedMs = performance.now() - started;
    const grown = (await residentBytes(pid)) - before;
    expect(oversized.status).toBe(502);
    expect(oversized.body).toMatchObject({ code: 'provider_error' });
    expect(grown).toBeLessThan(20 * MB);
    expect(elapsedMs).toBeLessThan(10_000);
    // Callers see only provider_error; the operator's log says why.
    const logged = functionLines.filter(({ name, line }) => name === 'token' && line.includes(`larger than the ${MAX_PROVIDER_REPLY_BYTES} bytes`));
    expect(logged.length).toBeGreaterThan(0);
    // The next refresh, with an honest reply, goes through.
    expect((await readExpired()).status).toBe(200);
  });

  it('answers dashboard asset names the dashboard does not have with 404, and logs no error', async () => {
    const asset = (name: string) => fetch(`${origin}/iap/admin/?asset=${encodeURIComponent(name)}`);
    const errorsBefore = functionLines.filter(({ name, line }) => name === 'admin' && line.includes('"severity":"ERROR"')).length;
    for (const name of ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'no-such.js']) {
      const response = await asset(name);
      expect({ name, status: response.status }).toEqual({ name, status: 404 });
      expect(await response.json()).toMatchObject({ code: 'not_found' });
    }
    expect((await asset('dashboard.js')).status).toBe(200);
    expect(functionLines.filter(({ name, line }) => name === 'admin' && line.includes('"severity":"ERROR"')).length).toBe(errorsBefore);
  });

  it('refuses two Authorization headers in either order, and two X-Serverless-Authorization', async () => {
    const valid = `Bearer ${await mint(stack.description.demoCaller, 'token')}`;
    const intruder = `Bearer ${await mint(`intruder@${localIdentities.demoTenant}.iam.gserviceaccount.com`, 'token')}`;
    const body = JSON.stringify({ tenantId: stack.description.demoTenant, userId: 'nobody', provider: 'slack' });
    const read = (...credentialLines: string[]) =>
      rawRequest(`${origin}/token`, 'POST', ['Host', new URL(origin).host, ...credentialLines, 'Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(body))], body);
    // One header of each kind is the convention: past authentication (no such connection).
    expect((await read('Authorization', valid)).status).toBe(404);
    expect((await read('X-Serverless-Authorization', valid, 'Authorization', valid)).status).toBe(404);
    for (const lines of [
      ['Authorization', valid, 'Authorization', intruder],
      ['Authorization', intruder, 'Authorization', valid],
      ['authorization', valid, 'AUTHORIZATION', valid],
      ['X-Serverless-Authorization', valid, 'Authorization', valid, 'X-Serverless-Authorization', intruder],
    ]) {
      const answer = await read(...lines);
      expect({ lines: lines.filter((_, index) => index % 2 === 0), status: answer.status }).toEqual({ lines: lines.filter((_, index) => index % 2 === 0), status: 401 });
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'unauthenticated' });
    }
  });

  it('refuses a request naming a foreign Host at the IAP stand-in and the demo page (DNS rebinding)', async () => {
    const port = new URL(origin).port;
    for (const path of ['/iap/admin/', '/iap/admin/api/stats', '/demo/']) {
      const foreign = await rawRequest(`${origin}${path}`, 'GET', ['Host', `rebind.attacker.test:${port}`]);
      expect({ path, status: foreign.status }).toEqual({ path, status: 421 });
      expect(foreign.body).toContain('DNS rebinding');
      expect(foreign.body).not.toContain('attacker');
      const own = await rawRequest(`${origin}${path}`, 'GET', ['Host', `localhost:${port}`]);
      expect({ path, status: own.status }).toEqual({ path, status: 200 });
    }
    const post = await rawRequest(`${origin}/demo/connect`, 'POST', ['Host', `rebind.attacker.test:${port}`, 'Sec-Fetch-Site', 'same-origin', 'Content-Type', 'application/x-www-form-urlencoded'], 'provider=slack');
    expect(post.status).toBe(421);
  });
});
