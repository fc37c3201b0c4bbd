// The gate in front of the Functions Framework: compressed bodies are never inflated, bodies over a function's limit
// are never read (or stop being read the moment they pass it), and what passes arrives parsed as before.
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFunction } from '../../../shared/http/http-function.js';
import { createLogger } from '../../../shared/log/logger.js';

const logger = createLogger({ sink: () => undefined });
const handled: string[] = [];

// Two functions in one process, as in the in-process harnesses: one takes 1 KB of JSON, the other no body at all.
functions.http(
  'takesJson',
  httpFunction({ functionName: 'takesJson', methods: ['GET', 'POST'], maxBodyBytes: 1024, logger: () => logger }, async (req, res) => {
    handled.push('takesJson');
    res.status(200).json({ body: req.body as unknown, rawBytes: req.rawBody?.length ?? 0 });
  }),
);
functions.http(
  'takesNothing',
  httpFunction({ functionName: 'takesNothing', methods: ['GET', 'POST'], maxBodyBytes: 0, logger: () => logger }, async (_req, res) => {
    handled.push('takesNothing');
    res.status(200).json({ ok: true });
  }),
);

const servers = { takesJson: getTestServer('takesJson'), takesNothing: getTestServer('takesNothing') };
const origins: Record<keyof typeof servers, string> = { takesJson: '', takesNothing: '' };

beforeAll(async () => {
  for (const [name, server] of Object.entries(servers)) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origins[name as keyof typeof servers] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
});
afterAll(async () => {
  for (const server of Object.values(servers)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

interface Sent {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** Bytes of the body written before the answer arrived. */
  readonly writtenBeforeAnswer: number;
}

/**
 * Sends `chunks` (chunked unless a content-length header is given) and resolves with the answer as soon as it arrives,
 * writing the next chunk only after the previous one was flushed, so what the server saw before answering is known.
 * Once answered it stops sending, on a keep-alive connection of its own (a body cut short cannot leave it reusable;
 * and on a `Connection: close` request Node's server closes the socket as soon as it has answered).
 */
function send(origin: string, options: { method?: string; headers?: Record<string, string>; chunks: readonly Buffer[] }): Promise<Sent> {
  const agent = new Agent({ keepAlive: true });
  return new Promise<Sent>((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = request(`${origin}/`, { method: options.method ?? 'POST', headers: options.headers, agent }, (res) => {
      answered = true;
      const writtenBeforeAnswer = written;
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>, writtenBeforeAnswer }));
    });
    // The server may stop reading once it has answered: a write error after the answer is expected.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const writeNext = (index: number) => {
      if (answered) {
        req.destroy();
        return;
      }
      if (index === options.chunks.length) {
        req.end();
        return;
      }
      const chunk = options.chunks[index] as Buffer;
      req.write(chunk, () => {
        written += chunk.length;
        setTimeout(() => writeNext(index + 1), 5);
      });
    };
    writeNext(0);
  }).finally(() => agent.destroy());
}

const json = { 'content-type': 'application/json' };

describe('the request body gate', () => {
  it('refuses a gzip body with 415 without inflating it or reaching the handler', async () => {
    handled.length = 0;
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    const sent = await send(origins.takesJson, {
      headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip', 'content-length': String(bomb.length) },
      chunks: [bomb],
    });
    expect(sent.status).toBe(415);
    expect(sent.body).toMatchObject({ code: 'unsupported_content_encoding', status: 415 });
    expect(handled).toEqual([]);
  });

  it.each(['deflate', 'br', 'GZIP', 'identity, gzip'])('refuses Content-Encoding %j', async (encoding) => {
    const sent = await send(origins.takesJson, { headers: { ...json, 'content-encoding': encoding, 'content-length': '2' }, chunks: [Buffer.from('{}')] });
    expect(sent.status).toBe(415);
  });

  it('accepts Content-Encoding: identity', async () => {
    const sent = await send(origins.takesJson, { headers: { ...json, 'content-encoding': 'identity', 'content-length': '8' }, chunks: [Buffer.from('{"a":1} ')] });
    expect(sent).toMatchObject({ status: 200, body: { body: { a: 1 }, rawBytes: 8 } });
  });

  it('refuses a declared Content-Length over the limit with 413 before reading a byte of the body', async () => {
    handled.length = 0;
    const body = Buffer.alloc(10 * 1024 * 1024, 0x20);
    const sent = await send(origins.takesJson, {
      headers: { ...json, 'content-length': String(body.length) },
      chunks: Array.from({ length: 10 }, (_, index) => body.subarray(index * 1024 * 1024, (index + 1) * 1024 * 1024)),
    });
    expect(sent.status).toBe(413);
    expect(sent.body).toMatchObject({ code: 'payload_too_large', details: { limitBytes: 1024 } });
    expect(sent.writtenBeforeAnswer).toBeLessThan(body.length);
    expect(handled).toEqual([]);
  });

  it('refuses a chunked body with 413 as soon as it passes the limit, not when it ends', async () => {
    const chunks = Array.from({ length: 400 }, () => Buffer.alloc(512, 0x20));
    const sent = await send(origins.takesJson, { headers: json, chunks });
    expect(sent.status).toBe(413);
    expect(sent.writtenBeforeAnswer).toBeLessThan(100 * 512);
  });

  it('admits a chunked body within the limit, parsed as JSON with its raw bytes kept', async () => {
    const sent = await send(origins.takesJson, { headers: json, chunks: [Buffer.from('{"tenantId":'), Buffer.from('"acme"}')] });
    expect(sent).toMatchObject({ status: 200, body: { body: { tenantId: 'acme' }, rawBytes: 19 } });
  });

  it('answers malformed JSON and a non-UTF-8 charset as before: 400 and 415', async () => {
    const malformed = await send(origins.takesJson, { headers: { ...json, 'content-length': '5' }, chunks: [Buffer.from('{"a":')] });
    expect(malformed).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
    const latin1 = await send(origins.takesJson, {
      headers: { 'content-type': 'application/json; charset=latin1', 'content-length': '2' },
      chunks: [Buffer.from('{}')],
    });
    expect(latin1).toMatchObject({ status: 415, body: { code: 'unsupported_media_type' } });
  });

  it('refuses any body on GET, even on a function that takes one on POST', async () => {
    const sent = await send(origins.takesJson, { method: 'GET', headers: { ...json, 'content-length': '2' }, chunks: [Buffer.from('{}')] });
    expect(sent).toMatchObject({ status: 413, body: { code: 'payload_too_large', details: { limitBytes: 0 } } });
    const bodiless = await send(origins.takesJson, { method: 'GET', chunks: [] });
    expect(bodiless.status).toBe(200);
  });

  it("holds each function to its own limit when the process serves several: a body to the one that takes none is 413", async () => {
    handled.length = 0;
    const sent = await send(origins.takesNothing, { headers: { ...json, 'content-length': '2' }, chunks: [Buffer.from('{}')] });
    expect(sent).toMatchObject({ status: 413, body: { code: 'payload_too_large', details: { limitBytes: 0 } } });
    expect(handled).toEqual([]);
    const bodiless = await send(origins.takesNothing, { chunks: [] });
    expect(bodiless.status).toBe(200);
  });

  it('keeps the connection usable after a refused body that was sent in full', async () => {
    const agentOrigin = origins.takesJson;
    const first = await fetch(agentOrigin, { method: 'POST', headers: json, body: 'x'.repeat(4096) });
    expect(first.status).toBe(413);
    await first.arrayBuffer();
    const second = await fetch(agentOrigin, { method: 'POST', headers: json, body: '{"b":2}' });
    expect(await second.json()).toMatchObject({ body: { b: 2 } });
  });
});
