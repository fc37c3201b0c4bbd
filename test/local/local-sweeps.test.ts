// The local scheduler jobs: both sweeps called with the scheduler's ID token for each function's URL, runs never overlapping, a line per run that did something.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalSweeps, localSweepIntervalMs, startLocalSweeps } from '../../local/local-sweeps.js';

const servers: ReturnType<typeof createServer>[] = [];
let sweeps: LocalSweeps | undefined;

afterEach(async () => {
  await sweeps?.stop();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function fakeFunctions(answer: (request: IncomingMessage) => { status: number; body: unknown }) {
  const seen: { path: string; authorization: string | undefined }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((request, response) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    seen.push({ path: request.url ?? '', authorization: request.headers.authorization });
    setTimeout(() => {
      const { status, body } = answer(request);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      inFlight -= 1;
    }, 20);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, seen, maxInFlight: () => maxInFlight };
}

describe('startLocalSweeps', () => {
  it('calls refresh then health with a token minted for each URL, and prints what the runs did', async () => {
    const fake = await fakeFunctions((request) =>
      request.url === '/refresh'
        ? { status: 200, body: { refreshed: 2, skipped: 0, failed: { total: 1, byReason: { invalid_grant: 1 } }, remaining: 0 } }
        : { status: 200, body: { checked: 3, healthy: 2, unhealthy: 0, needsReauth: 1, remaining: 0 } },
    );
    const lines: string[] = [];
    sweeps = startLocalSweeps({
      functions: { refresh: `${fake.origin}/refresh`, health: `${fake.origin}/health`, token: `${fake.origin}/token` },
      mintIdToken: async (audience) => `token-for-${Buffer.from(audience).toString('base64url')}`,
      intervalMs: 60_000,
      print: (line) => lines.push(line),
    });
    await Promise.all([sweeps.runNow(), sweeps.runNow()]);
    expect(fake.seen.map((call) => call.path)).toEqual(['/refresh', '/health', '/refresh', '/health']);
    expect(fake.maxInFlight()).toBe(1);
    expect(fake.seen[0]!.authorization).toBe(`Bearer token-for-${Buffer.from(`${fake.origin}/refresh`).toString('base64url')}`);
    expect(lines).toContain('refresh sweep: 2 refreshed, 1 failed, 0 left for the next run');
    expect(lines).toContain('health sweep: 3 checked, 2 healthy, 0 unhealthy, 1 need the user to reconnect');
  });

  it('says so when a sweep refuses the call, and stays quiet when a run found nothing', async () => {
    const fake = await fakeFunctions((request) =>
      request.url === '/refresh' ? { status: 403, body: { code: 'caller_not_allowed' } } : { status: 200, body: { checked: 0, healthy: 0, unhealthy: 0, needsReauth: 0, remaining: 0 } },
    );
    const lines: string[] = [];
    sweeps = startLocalSweeps({
      functions: { refresh: `${fake.origin}/refresh`, health: `${fake.origin}/health` },
      mintIdToken: async () => 'token',
      intervalMs: 60_000,
      print: (line) => lines.push(line),
    });
    await sweeps.runNow();
    expect(lines).toEqual(['refresh sweep failed: HTTP 403 (caller_not_allowed)']);
  });

  it('reads SWEEP_INTERVAL_SECONDS, 30 s by default, and refuses nonsense', () => {
    expect(localSweepIntervalMs({})).toBe(30_000);
    expect(localSweepIntervalMs({ SWEEP_INTERVAL_SECONDS: '5' })).toBe(5_000);
    expect(() => localSweepIntervalMs({ SWEEP_INTERVAL_SECONDS: 'soon' })).toThrow(TypeError);
  });
});
