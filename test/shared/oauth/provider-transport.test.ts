// Provider calls leave through node:http over keep-alive agents, not fetch: what fetch did for the broker must still
// hold (redirects not followed, compressed replies decoded, a User-Agent sent, a stalled or cut reply ended as the
// provider being unavailable), and sockets are reused between calls.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
/** An https server whose certificate signed itself: no authority the process trusts vouches for it. */
let untrusted: TlsServer;
let untrustedOrigin = '';
const untrustedRequests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => (routes[req.url ?? ''] ?? ((_r, s) => s.writeHead(404).end()))(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const dir = mkdtempSync(join(tmpdir(), 'provider-transport-'));
  try {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    untrusted = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      untrustedRequests.push(String(req.headers.authorization));
      res.writeHead(200, { 'content-type': 'application/json' }).end(reply);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await new Promise<void>((resolve) => untrusted.listen(0, '127.0.0.1', resolve));
  untrustedOrigin = `https://127.0.0.1:${(untrusted.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  untrusted?.closeAllConnections();
  await new Promise<void>((resolve) => (untrusted === undefined ? resolve() : untrusted.close(() => resolve())));
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
    const tls = createOAuthRuntime({ overrides: new Map([[PROVIDER, untrustedOrigin]]), timeoutMs: 5_000 }).http;
    await expect(
      sendProviderRequest(tls, boundary, { method: 'POST', url: `${PROVIDER}/token`, headers: { authorization: 'Basic Y2xpZW50OnNlY3JldA==' }, body: 'grant_type=refresh_token' }),
    ).rejects.toMatchObject({ code: 'provider_unavailable', details: { reason: 'network' }, cause: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' } });
    expect(untrustedRequests).toEqual([]);
  });
});
