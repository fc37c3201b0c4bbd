// The runtime's provider client takes its timeout from configuration: a provider that hangs fails the call in time.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/config.js';
import { sendProviderRequest } from '../../../shared/oauth/provider-http.js';
import { createEndpointBoundary } from '../../../shared/providers/endpoint-boundary.js';
import { createBrokerRuntime } from '../../../shared/usecases/broker-runtime.js';

let hanging: Server;
let origin: string;

beforeAll(async () => {
  // Accepts the request and never answers.
  hanging = createServer(() => undefined);
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
});

afterAll(async () => {
  hanging.closeAllConnections();
  await new Promise<void>((resolve) => hanging.close(() => resolve()));
});

const boundary = createEndpointBoundary({ provider: 'example', urlTemplates: ['https://provider.example/token'], variableHosts: [] });
const env = () => ({ GOOGLE_CLOUD_PROJECT: 'runtime-test', PROVIDER_ORIGIN_OVERRIDES: JSON.stringify({ 'https://provider.example': origin }) });

describe('broker runtime provider timeout', () => {
  it('gives up on a hanging provider after PROVIDER_TIMEOUT_SECONDS, as provider_unavailable', async () => {
    const runtime = createBrokerRuntime(loadConfig({ ...env(), PROVIDER_TIMEOUT_SECONDS: '1' }));
    const started = Date.now();
    await expect(sendProviderRequest(runtime.oauth().http, boundary, { method: 'GET', url: 'https://provider.example/token' })).rejects.toMatchObject({
      code: 'provider_unavailable',
      details: { reason: 'timeout' },
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('waits 10 s by default, and refuses a timeout outside 1-60 s', () => {
    expect(createBrokerRuntime(loadConfig(env())).oauth().http.timeoutMs).toBe(10_000);
    for (const value of ['0', '61', 'soon']) {
      expect(() => loadConfig({ ...env(), PROVIDER_TIMEOUT_SECONDS: value })).toThrow(/PROVIDER_TIMEOUT_SECONDS/);
    }
  });
});

describe('broker runtime refresh deadlines', () => {
  it('lets one call wait longer than the provider timeout (a refresh waits out a slow reply), and gives up at its own bound', async () => {
    const runtime = createBrokerRuntime(loadConfig({ ...env(), PROVIDER_TIMEOUT_SECONDS: '1' }));
    const started = Date.now();
    await expect(
      sendProviderRequest(runtime.oauth().http, boundary, { method: 'GET', url: 'https://provider.example/token', timeoutMs: 2_500 }),
    ).rejects.toMatchObject({ code: 'provider_unavailable', details: { reason: 'timeout' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_400);
  });

  it('answers a token read after 10 s and waits 120 s for a refresh reply by default; both are configurable', () => {
    expect(loadConfig(env()).refresh).toMatchObject({ callerWaitMs: 10_000, replyDeadlineMs: 120_000 });
    expect(loadConfig({ ...env(), REFRESH_CALLER_WAIT_SECONDS: '3', REFRESH_REPLY_DEADLINE_SECONDS: '300' }).refresh).toMatchObject({ callerWaitMs: 3_000, replyDeadlineMs: 300_000 });
    expect(() => loadConfig({ ...env(), REFRESH_REPLY_DEADLINE_SECONDS: '0' })).toThrow(/REFRESH_REPLY_DEADLINE_SECONDS/);
  });
});
