// Every provider reply is read with a size cap: a hostile endpoint that streams on gets response_too_large, fast,
// without the broker's memory following it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMART_BASE } from '../../../local/provider-sandbox/profiles.js';
import { buildAuthorizationRequest } from '../../../shared/oauth/authorization-request.js';
import { refreshGrant } from '../../../shared/oauth/grants.js';
import { fetchIdentity } from '../../../shared/oauth/identity.js';
import { startOAuth1Authorization } from '../../../shared/oauth/oauth1-flow.js';
import { createOAuthRuntime } from '../../../shared/oauth/oauth-runtime.js';
import { MAX_PROVIDER_REPLY_BYTES, sendProviderRequest } from '../../../shared/oauth/provider-http.js';
import { revokeGrant } from '../../../shared/oauth/revocation.js';
import { createEndpointBoundary } from '../../../shared/providers/endpoint-boundary.js';
import { REDIRECT_URI, useProviderSandbox } from '../providers/sandbox-harness.js';

const h = useProviderSandbox();
const MB = 1024 * 1024;
const tooLarge = expect.objectContaining({ code: 'provider_error', details: expect.objectContaining({ reason: 'response_too_large', limitBytes: MAX_PROVIDER_REPLY_BYTES }) });

describe('provider replies larger than the cap', () => {
  it('end a code exchange, a refresh, an identity call and a revocation as response_too_large', async () => {
    h.sandbox.failNext('slack', 'token', { kind: 'oversized', bytes: 8 * MB });
    await expect(h.connect('slack')).rejects.toThrow(tooLarge);

    const connected = await h.connect('google');
    const { provider, credentials, connectionConfig, grant } = connected;
    h.sandbox.failNext('google', 'refresh', { kind: 'oversized', bytes: 8 * MB });
    await expect(refreshGrant(h.runtime, provider, { client: credentials, refreshToken: grant.refreshToken as string, scopes: grant.scopes, connectionConfig })).rejects.toThrow(tooLarge);
    h.sandbox.failNext('google', 'identity', { kind: 'oversized', bytes: 8 * MB });
    await expect(fetchIdentity(h.runtime, provider, { accessToken: grant.accessToken, connectionConfig, metadata: {} })).rejects.toThrow(tooLarge);
    h.sandbox.failNext('google', 'revoke', { kind: 'oversized', bytes: 8 * MB });
    await expect(revokeGrant(h.runtime, provider, { client: credentials, accessToken: grant.accessToken, connectionConfig })).rejects.toThrow(tooLarge);
  });

  it('end a SMART discovery and an OAuth 1.0a request-token call as response_too_large', async () => {
    h.sandbox.failNext('smart_on_fhir', 'discovery', { kind: 'oversized', bytes: 8 * MB });
    const smart = h.catalog.resolve('smart_on_fhir');
    const authorization = buildAuthorizationRequest(h.runtime, smart, { clientId: 'c', redirectUri: REDIRECT_URI, scopes: [], state: 's'.repeat(32), connectionConfig: { fhirBaseUrl: SMART_BASE } });
    await expect(authorization).rejects.toThrow(tooLarge);

    h.sandbox.failNext('trello', 'request_token', { kind: 'oversized', bytes: 8 * MB });
    const trello = h.catalog.resolve('trello');
    await expect(startOAuth1Authorization(h.runtime, trello, { client: h.client('trello'), callbackUrl: REDIRECT_URI, scopes: ['read'], connectionConfig: {} })).rejects.toThrow(tooLarge);
  });

  it('stops reading a 450 MB reply at the cap: memory grows by less than 20 MB, and the connection is dropped', async () => {
    const { provider, credentials, connectionConfig, grant } = await h.connect('google');
    const refresh = () => refreshGrant(h.runtime, provider, { client: credentials, refreshToken: grant.refreshToken as string, scopes: grant.scopes, connectionConfig });
    // Warm the path once, so what is measured is the reply, not the first use of the code.
    h.sandbox.failNext('google', 'refresh', { kind: 'oversized', bytes: 4 * MB });
    await expect(refresh()).rejects.toThrow(tooLarge);

    h.sandbox.failNext('google', 'refresh', { kind: 'oversized', bytes: 450 * MB });
    const before = process.memoryUsage().rss;
    const started = performance.now();
    await expect(refresh()).rejects.toThrow(tooLarge);
    const elapsedMs = performance.now() - started;
    const grownBytes = process.memoryUsage().rss - before;
    expect(grownBytes).toBeLessThan(20 * MB);
    expect(elapsedMs).toBeLessThan(5_000);
    // The sandbox is still healthy for the next caller: the aborted stream did not wedge it.
    await expect(refresh()).resolves.toMatchObject({ refreshToken: grant.refreshToken });
  });

  it('reads a reply just under the cap whole', async () => {
    const { provider, grant, connectionConfig } = await h.connect('google');
    h.sandbox.failNext('google', 'identity', { kind: 'oversized', bytes: MAX_PROVIDER_REPLY_BYTES - 64 });
    // Under the cap the body is read and judged on its content (it names no account): malformed, not too large.
    await expect(fetchIdentity(h.runtime, provider, { accessToken: grant.accessToken, connectionConfig, metadata: {} })).rejects.toMatchObject({
      code: 'provider_error',
      details: { reason: 'malformed_response' },
    });
  });
});

describe('replies that announce or hide their size', () => {
  const boundary = createEndpointBoundary({ provider: 'example', urlTemplates: ['https://provider.example/token'], variableHosts: [] });
  let server: Server;
  let origin = '';
  // 64 MB of zeros, compressed to a few dozen kilobytes.
  const bomb = gzipSync(Buffer.alloc(64 * MB));

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/bomb') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
        res.end(bomb);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 * MAX_PROVIDER_REPLY_BYTES) });
      // Announces more than the cap, then sends a trickle and never finishes: refused on the header alone.
      res.write('{');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const runtime = () => createOAuthRuntime({ overrides: new Map([['https://provider.example', origin]]), timeoutMs: 5_000 });

  it('refuses on Content-Length alone, without waiting for the body', async () => {
    const started = performance.now();
    await expect(sendProviderRequest(runtime().http, boundary, { method: 'POST', url: 'https://provider.example/token' })).rejects.toThrow(tooLarge);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('counts decoded bytes, so a compressed bomb stops at the cap too', async () => {
    expect(bomb.length).toBeLessThan(MAX_PROVIDER_REPLY_BYTES);
    await expect(sendProviderRequest(runtime().http, boundary, { method: 'GET', url: 'https://provider.example/bomb' })).rejects.toThrow(tooLarge);
  });
});
