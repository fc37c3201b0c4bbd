// Request bodies are refused before the Functions Framework's parser reads them (issue 14, finding 2): through the
// production-shaped local stack, each function in its own process from dist/, behind the front proxy.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { functionNames, type FunctionName } from '../../functions/names.js';
import { JSON_REQUEST_BODY_LIMIT_BYTES } from '../../shared/http/request-body-limits.js';
import { PROXY_REQUEST_BODY_LIMIT_BYTES } from '../../shared/usecases/proxy/provider-api-request.js';
import { testProjectId } from '../support/firestore-test-project.js';
import { type LocalStack, startLocalStack } from '../../local/local-stack.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const MB = 1024 * 1024;

/** What each function takes on POST: JSON up to the limit, except the public callback, which reads no body at all. */
const postLimit: Readonly<Record<FunctionName, number>> = {
  authorize: JSON_REQUEST_BODY_LIMIT_BYTES,
  callback: 0,
  connections: JSON_REQUEST_BODY_LIMIT_BYTES,
  token: JSON_REQUEST_BODY_LIMIT_BYTES,
  // The proxy streams bodies onwards to the provider, within its own cap.
  proxy: PROXY_REQUEST_BODY_LIMIT_BYTES,
  admin: JSON_REQUEST_BODY_LIMIT_BYTES,
  refresh: JSON_REQUEST_BODY_LIMIT_BYTES,
  health: JSON_REQUEST_BODY_LIMIT_BYTES,
};

/**
 * The reproduction: 970 KB of gzip that inflates to about a gigabyte of zeros. Whole gzip members, repeated
 * (a gzip stream may hold several, and gunzip inflates them all), so it stays a valid bomb without compressing 1 GB here.
 */
function gzipBomb(targetBytes: number): Buffer {
  const member = gzipSync(Buffer.alloc(10 * MB), { level: 9 });
  return Buffer.concat(Array.from({ length: Math.ceil(targetBytes / member.length) }, () => member));
}

interface Memory {
  readonly rssBytes: number;
  /** The peak resident size so far (VmHWM): a transient spike shows here even after it is freed. */
  readonly peakBytes: number;
}

async function memoryOf(pid: number): Promise<Memory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kilobytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]) * 1024;
  return { rssBytes: kilobytes('VmRSS'), peakBytes: kilobytes('VmHWM') };
}

/** A GET with a body, which fetch refuses to send. */
function getWithBody(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('request bodies, against the local stack', () => {
  let stateDir = '';
  let stack: LocalStack;
  const urlOf = (name: FunctionName, path = '/') => `${stack.description.functionsOrigin}/${name}${path}`;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'broker-bodies-'));
    stack = await startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      projectId: testProjectId('request-bodies'),
      env: {
        FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'),
        PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'),
        LOG_LEVEL: 'ERROR',
        SWEEP_INTERVAL_SECONDS: '86400',
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("answers the issue's 970 KB gzip body to the public callback with 415 in under a second, the callback process growing under 20 MB", async () => {
    const pid = stack.description.functionProcesses.callback?.pid as number;
    // A first request loads the function's code, so what is measured next is the body alone.
    expect((await fetch(urlOf('callback', '/start'))).status).toBeLessThan(500);
    const bomb = gzipBomb(970 * 1024);
    expect(bomb.length).toBeGreaterThanOrEqual(970 * 1024);
    const before = await memoryOf(pid);
    const startedAt = performance.now();
    const res = await fetch(urlOf('callback'), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
      body: new Uint8Array(bomb),
    });
    const body = (await res.json()) as { code?: string };
    const elapsedMs = performance.now() - startedAt;
    const after = await memoryOf(pid);
    expect({ status: res.status, code: body.code }).toEqual({ status: 415, code: 'unsupported_content_encoding' });
    expect(elapsedMs).toBeLessThan(1000);
    expect(after.rssBytes - before.rssBytes).toBeLessThan(20 * MB);
    expect(after.peakBytes - before.peakBytes).toBeLessThan(20 * MB);
  });

  it('answers a 10 MB body to token with 413, sent with a length or streamed in chunks', async () => {
    const pid = stack.description.functionProcesses.token?.pid as number;
    const before = await memoryOf(pid);
    const declared = await fetch(urlOf('token'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array(10 * MB).fill(0x20) });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ code: 'payload_too_large', details: { limitBytes: JSON_REQUEST_BODY_LIMIT_BYTES } });
    const chunk = Buffer.alloc(MB, 0x20);
    const streamed = await fetch(urlOf('token'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (let sent = 0; sent < 10; sent += 1) controller.enqueue(chunk);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    await streamed.arrayBuffer();
    const after = await memoryOf(pid);
    expect(after.peakBytes - before.peakBytes).toBeLessThan(20 * MB);
  });

  describe.each(functionNames)('the %s function', (name) => {
    const limit = postLimit[name];

    it('refuses a compressed body with 415', async () => {
      const res = await fetch(urlOf(name), { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' }, body: '{}' });
      expect({ status: res.status, code: ((await res.json()) as { code?: string }).code }).toEqual({ status: 415, code: 'unsupported_content_encoding' });
    });

    it(`refuses a POST body one byte over its limit (${limit} bytes) with 413`, async () => {
      const res = await fetch(urlOf(name), { method: 'POST', headers: { 'content-type': 'application/json' }, body: ' '.repeat(limit + 1) });
      expect({ status: res.status, code: ((await res.json()) as { code?: string }).code }).toEqual({ status: 413, code: 'payload_too_large' });
    });

    it('refuses any body on GET with 413', async () => {
      expect(await getWithBody(urlOf(name), '{}')).toBe(413);
    });

    it('lets a body within its limit through to the function, which answers for itself', async () => {
      const res = await fetch(urlOf(name), { method: 'POST', headers: { 'content-type': 'application/json' }, body: limit === 0 ? undefined : `{}${' '.repeat(limit - 2)}` });
      await res.arrayBuffer();
      // Past the gate: the function's own answer (no caller identity, or a method it does not take).
      expect([401, 403, 405]).toContain(res.status);
    });
  });
});
