import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BrokerError } from '../../../shared/errors/broker-error.js';
import { installFrameworkGate } from '../../../shared/http/framework-gate.js';
import { httpFunction } from '../../../shared/http/http-function.js';
import { createLogger } from '../../../shared/log/logger.js';

const lines: string[] = [];
const logger = createLogger({ sink: (line) => lines.push(line) });
installFrameworkGate(() => logger);

functions.http(
  'probe',
  httpFunction({ functionName: 'probe', methods: ['POST'], maxBodyBytes: 1024, logger: () => logger }, async (req, res) => {
    const body = req.body as { fail?: string };
    if (body.fail === 'broker') throw new BrokerError('not_connected', 'No Slack connection for this user');
    if (body.fail === 'unknown') throw new Error('socket hang up at 10.0.0.7 with token ya29.a0AfH6SMBx');
    res.status(200).json({ ok: true });
  }),
);

let origin = '';
const server = getTestServer('probe');

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(origin, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** How many async hooks with a destroy callback are enabled in this process (a domain enables one for good). */
/** How many async hooks of each kind are switched on in this process. */
function enabledAsyncHooks(): { init: number; destroy: number } {
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    // No public API tells whether async-resource tracking is on; the binding's counters do.
    const binding = (process as unknown as { binding(name: string): unknown }).binding('async_wrap') as {
      async_hook_fields: Uint32Array;
      constants: { kInit: number; kDestroy: number };
    };
    return { init: binding.async_hook_fields[binding.constants.kInit] ?? 0, destroy: binding.async_hook_fields[binding.constants.kDestroy] ?? 0 };
  } finally {
    process.noDeprecation = quiet;
  }
}

describe('httpFunction', () => {
  it('serves requests through the framework without switching on async-resource tracking (no domain, no AsyncLocalStorage)', async () => {
    const before = enabledAsyncHooks();
    expect((await post({})).status).toBe(200);
    expect((await post({ fail: 'unknown' })).status).toBe(500);
    expect(enabledAsyncHooks()).toEqual(before);
    expect(before).toEqual({ init: 0, destroy: 0 });
  });

  it('passes allowed requests through with security headers', async () => {
    const res = await post({});
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers a wrong method with 405, an Allow header and a problem body', async () => {
    const res = await fetch(origin, { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ code: 'method_not_allowed', status: 405 });
  });

  it('maps a broker error to its status and stable code', async () => {
    const res = await post({ fail: 'broker' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'not_connected', detail: 'No Slack connection for this user' });
  });

  it('answers an unknown error with a bare 500, and logs it in full with the trace, masked', async () => {
    lines.length = 0;
    const res = await post(
      { fail: 'unknown' },
      { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    );
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toMatch(/socket|10\.0\.0\.7|ya29|stack/);
    const entry = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(entry).toMatchObject({ severity: 'ERROR', event: 'request.failed', httpStatus: 500 });
    expect(entry['logging.googleapis.com/trace']).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(JSON.stringify(entry)).toContain('socket hang up');
    expect(JSON.stringify(entry)).not.toContain('ya29.a0AfH6SMBx');
  });
});

describe('framework errors', () => {
  it('answers a malformed JSON body with problem+json, and logs neither the body nor a stack', async () => {
    const consoleError = vi.spyOn(console, 'error');
    lines.length = 0;
    const secretInBody = 'pat-na1-0f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a0f9';
    const res = await fetch(origin, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"apiKey": "${secretInBody}"`,
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ code: 'invalid_request', detail: 'The request body is not valid JSON' });
    expect(consoleError).not.toHaveBeenCalled();
    expect(lines.join('\n')).not.toContain(secretInBody);
    consoleError.mockRestore();
  });

  it('answers a compressed body with 415 problem+json', async () => {
    const res = await fetch(origin, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'compress' },
      body: '{}',
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: 'unsupported_content_encoding' });
  });
});
