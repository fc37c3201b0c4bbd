// The proxy's outbound request against a loopback server standing in for a provider API: what is sent, timeouts,
// unreachable hosts, and URLs outside the provider's boundary refused before any connection.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noOriginOverrides } from '../../../../shared/oauth/origin-overrides.js';
import { createEndpointBoundary } from '../../../../shared/providers/endpoint-boundary.js';
import { sendProviderApiRequest } from '../../../../shared/usecases/proxy/provider-api-request.js';

describe('sendProviderApiRequest', () => {
  let server: Server;
  let origin = '';
  let connections = 0;
  const seen: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        // `/slow` never answers: the proxy's timeout must fire.
        if (req.url?.startsWith('/api/slow')) return;
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    server.on('connection', () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const boundary = () => createEndpointBoundary({ provider: 'loopback_api', urlTemplates: [], apiTemplates: [`${origin}/api`], variableHosts: [] });
  const send = (url: string, timeoutMs = 2000) =>
    sendProviderApiRequest({ overrides: noOriginOverrides }, boundary(), {
      method: 'POST',
      url: new URL(url),
      headers: [['content-type', 'application/json'], ['accept', 'application/json']],
      accessToken: 'provider-access-token',
      body: { kind: 'bytes', bytes: Buffer.from('{"a":1}') },
      timeoutMs,
    });

  it('sends the body with the connection\'s token as Bearer and its own Host', async () => {
    const reply = await send(`${origin}/api/items?x=1`);
    reply.resume();
    expect(reply.statusCode).toBe(201);
    const last = seen.at(-1);
    expect(last).toMatchObject({ url: '/api/items?x=1', body: '{"a":1}' });
    expect(last?.headers).toMatchObject({ authorization: 'Bearer provider-access-token', host: new URL(origin).host, 'content-length': '7', accept: 'application/json' });
  });

  it('gives up with 504 provider_timeout when no answer begins in time', async () => {
    const started = performance.now();
    await expect(send(`${origin}/api/slow`, 300)).rejects.toMatchObject({ code: 'provider_timeout', status: 504 });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('says provider_unavailable when the provider cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = createEndpointBoundary({ provider: 'gone', urlTemplates: [], apiTemplates: [`http://127.0.0.1:${port}/api`], variableHosts: [] });
    await expect(
      sendProviderApiRequest({ overrides: noOriginOverrides }, unreachable, {
        method: 'GET',
        url: new URL(`http://127.0.0.1:${port}/api/x`),
        headers: [],
        accessToken: 't',
        body: { kind: 'none' },
        timeoutMs: 2000,
      }),
    ).rejects.toMatchObject({ code: 'provider_unavailable' });
  });

  it('refuses a URL outside the provider\'s boundary before opening any connection', async () => {
    const before = connections;
    expect(() => send('http://127.0.0.2:9/api/x')).toThrow(expect.objectContaining({ code: 'provider_error' }));
    expect(connections).toBe(before);
  });
});
