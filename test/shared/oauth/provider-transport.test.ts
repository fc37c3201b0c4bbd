// Provider calls leave through node:http over keep-alive agents, not fetch: what fetch did for the broker must still
// hold (redirects not followed, compressed replies decoded, a User-Agent sent, a stalled or cut reply ended as the
// provider being unavailable), and sockets are reused between calls. Over https, the certificate is checked against the
// authorities the process trusts: refused when none signed it, answered when one did.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompressSync, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOAuthRuntime } from '../../../shared/oauth/oauth-runtime.js';
import { sendProviderRequest } from '../../../shared/oauth/provider-http.js';
import { createEndpointBoundary } from '../../../shared/providers/endpoint-boundary.js';

const PROVIDER = 'https://provider.example';
const boundary = createEndpointBoundary({ provider: 'example', urlTemplates: [`${PROVIDER}/token`], variableHosts: [] });
const reply = JSON.stringify({ access_token: 'at', token_type: 'Bearer' });

/** The server's sockets that answered /echo. */
const echoSockets = new Set<Socket>();

const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/redirect': (_req, res) => {
    res.writeHead(302, { location: 'https://elsewhere.example/steal' });
    res.end();
  },
  '/echo': (req, res) => {
    echoSockets.add(req.socket);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ userAgent: req.headers['user-agent'] ?? null, method: req.method, body: Buffer.concat(chunks).toString('utf8') }));
    });
  },
  '/deflate': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'deflate' });
    res.end(deflateSync(reply));
  },
  '/br': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' });
    res.end(brotliCompressSync(reply));
  },
  // Headers and half a body, then nothing: only the call's timeout can end it.
  '/stall': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"access_token":');
  },
  '/cut': (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"access_token":', () => req.socket.destroy());
  },
};

let server: Server;
let origin = '';
/** An https server whose certificate signed itself: trusted only by a process told to trust it (NODE_EXTRA_CA_CERTS). */
let tlsServer: TlsServer;
let tlsOrigin = '';
/** The Authorization header of each request the https server received. */
const tlsRequests: string[] = [];
let certDir = '';

beforeAll(async () => {
  server = createServer((req, res) => (routes[req.url ?? ''] ?? ((_r, s) => s.writeHead(404).end()))(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  certDir = mkdtempSync(join(tmpdir(), 'provider-transport-'));
  const [key, cert] = [join(certDir, 'key.pem'), join(certDir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  tlsServer = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    tlsRequests.push(String(req.headers.authorization));
    res.writeHead(200, { 'content-type': 'application/json' }).end(reply);
  });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  tlsOrigin = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  tlsServer?.closeAllConnections();
  await new Promise<void>((resolve) => (tlsServer === undefined ? resolve() : tlsServer.close(() => resolve())));
  if (certDir !== '') rmSync(certDir, { recursive: true, force: true });
});

const http = (timeoutMs = 5_000) => createOAuthRuntime({ overrides: new Map([[PROVIDER, origin]]), timeoutMs }).http;
const send = (path: string, options: { timeoutMs?: number; method?: 'GET' | 'POST'; body?: string } = {}) =>
  sendProviderRequest(http(options.timeoutMs), boundary, { method: options.method ?? 'GET', url: `${PROVIDER}${path}`, ...(options.body === undefined ? {} : { body: options.body }) });

describe('the node:http provider transport', () => {
  it('hands a redirect back as it came, never following it', async () => {
    const answer = await send('/redirect');
    expect(answer.status).toBe(302);
    expect(answer.headers.get('location')).toBe('https://elsewhere.example/steal');
  });

  it('sends the body and a User-Agent, and reuses one socket for calls one after another', async () => {
    for (let call = 0; call < 3; call += 1) {
      const answer = await send('/echo', { method: 'POST', body: 'grant_type=refresh_token&refresh_token=rt' });
      expect(JSON.parse(answer.body)).toEqual({ userAgent: 'oauth-broker', method: 'POST', body: 'grant_type=refresh_token&refresh_token=rt' });
    }
    expect(echoSockets.size).toBe(1);
  });

  it('decodes deflate and br replies', async () => {
    expect(JSON.parse((await send('/deflate')).body)).toEqual({ access_token: 'at', token_type: 'Bearer' });
    expect(JSON.parse((await send('/br')).body)).toEqual({ access_token: 'at', token_type: 'Bearer' });
  });

  it('ends a reply that stalls mid-body at the call\'s timeout, as provider_unavailable', async () => {
    const started = performance.now();
    await expect(send('/stall', { timeoutMs: 300 })).rejects.toMatchObject({ code: 'provider_unavailable', details: { reason: 'timeout', path: '/stall' } });
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('ends a reply cut off mid-body as provider_unavailable, not as a short body', async () => {
    await expect(send('/cut')).rejects.toMatchObject({ code: 'provider_unavailable', details: { reason: 'network', path: '/cut' } });
  });

  it('refuses a server whose certificate no trusted authority signed, before sending it anything', async () => {
    const before = tlsRequests.length;
    const tls = createOAuthRuntime({ overrides: new Map([[PROVIDER, tlsOrigin]]), timeoutMs: 5_000 }).http;
    await expect(
      sendProviderRequest(tls, boundary, { method: 'POST', url: `${PROVIDER}/token`, headers: { authorization: 'Basic Y2xpZW50OnNlY3JldA==' }, body: 'grant_type=refresh_token' }),
    ).rejects.toMatchObject({ code: 'provider_unavailable', details: { reason: 'network' }, cause: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' } });
    expect(tlsRequests.length).toBe(before);
  });

  it('sends a provider call over https to a server an authority it trusts signed, and reads the reply', async () => {
    // Trust is fixed when a process starts: a child process trusts the test certificate and sends one call through the
    // broker's own path (boundary, overrides, transport) while this one serves it.
    const script = join(certDir, 'call.mts');
    const providerHttp = fileURLToPath(new URL('../../../shared/oauth/provider-http.ts', import.meta.url));
    const runtime = fileURLToPath(new URL('../../../shared/oauth/oauth-runtime.ts', import.meta.url));
    const boundaries = fileURLToPath(new URL('../../../shared/providers/endpoint-boundary.ts', import.meta.url));
    writeFileSync(
      script,
      [
        `import { sendProviderRequest } from ${JSON.stringify(providerHttp)};`,
        `import { createOAuthRuntime } from ${JSON.stringify(runtime)};`,
        `import { createEndpointBoundary } from ${JSON.stringify(boundaries)};`,
        `const http = createOAuthRuntime({ overrides: new Map([[${JSON.stringify(PROVIDER)}, ${JSON.stringify(tlsOrigin)}]]), timeoutMs: 5000 }).http;`,
        `const boundary = createEndpointBoundary({ provider: 'example', urlTemplates: [${JSON.stringify(`${PROVIDER}/token`)}], variableHosts: [] });`,
        `const reply = await sendProviderRequest(http, boundary, { method: 'POST', url: ${JSON.stringify(`${PROVIDER}/token`)}, headers: { authorization: 'Basic Y2xpZW50OnNlY3JldA==' }, body: 'grant_type=refresh_token' });`,
        'process.stdout.write(JSON.stringify({ status: reply.status, body: JSON.parse(reply.body) }));',
      ].join('\n'),
    );
    const before = tlsRequests.length;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(certDir, 'cert.pem') },
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual({ status: 200, body: { access_token: 'at', token_type: 'Bearer' } });
    expect(tlsRequests.slice(before)).toEqual(['Basic Y2xpZW50OnNlY3JldA==']);
  });
});
