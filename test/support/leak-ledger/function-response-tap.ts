// Copies every answer a function serves in a test (status, headers, body) into the leak ledger, as the client received it.
import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, Server, ServerResponse } from 'node:http';
import type { ResponseHeaders } from '../../../local/leak-ledger/ledger-record.js';
import { ledgerActive, recordFunctionResponse } from '../../../local/leak-ledger/leak-recorder.js';

const tappedListeners = new WeakSet<RequestListener>();

function headerText(value: number | string | readonly string[] | undefined): string | string[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.map(String) : String(value);
}

function normalizedHeaders(headers: OutgoingHttpHeaders): ResponseHeaders {
  const out: ResponseHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const text = headerText(value);
    if (text !== undefined) out[name.toLowerCase()] = text;
  }
  return out;
}

/** writeHead(status, [message], [headers]): headers given there never show in getHeaders(). */
function writeHeadHeaders(args: readonly unknown[]): ResponseHeaders {
  const headers = args.find((arg) => typeof arg === 'object' && arg !== null);
  if (headers === undefined) return {};
  if (!Array.isArray(headers)) return normalizedHeaders(headers as OutgoingHttpHeaders);
  // The raw form: [name, value, name, value, ...] or [[name, value], ...].
  const flat = (headers as unknown[]).flat();
  const out: ResponseHeaders = {};
  for (let index = 0; index + 1 < flat.length; index += 2) out[String(flat[index]).toLowerCase()] = String(flat[index + 1]);
  return out;
}

function observe(functionName: string, req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  const explicitHeaders: ResponseHeaders = {};
  const collect = (chunk: unknown, encoding: unknown): void => {
    if (typeof chunk === 'string') chunks.push(Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
    else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  const write = res.write;
  const end = res.end;
  const writeHead = res.writeHead;
  res.write = function tappedWrite(this: ServerResponse, ...args: unknown[]) {
    collect(args[0], args[1]);
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as ServerResponse['write'];
  res.end = function tappedEnd(this: ServerResponse, ...args: unknown[]) {
    collect(args[0], args[1]);
    return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['end'];
  res.writeHead = function tappedWriteHead(this: ServerResponse, ...args: unknown[]) {
    Object.assign(explicitHeaders, writeHeadHeaders(args.slice(1)));
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['writeHead'];

  // Taken now: routers rewrite req.url on the way in.
  const method = req.method ?? '';
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  let recorded = false;
  const record = (): void => {
    if (recorded) return;
    recorded = true;
    recordFunctionResponse({
      function: functionName,
      method,
      path,
      status: res.statusCode,
      headers: { ...normalizedHeaders(res.getHeaders()), ...explicitHeaders },
      body: Buffer.concat(chunks).toString('utf8'),
    });
  };
  // 'close' alone covers an answer cut short (client gone): what was written so far still counts.
  res.once('finish', record);
  res.once('close', record);
}

export function tapFunctionListener(functionName: string, listener: RequestListener): RequestListener {
  if (tappedListeners.has(listener)) return listener;
  const tapped: RequestListener = (req, res) => {
    observe(functionName, req, res);
    listener(req, res);
  };
  tappedListeners.add(tapped);
  return tapped;
}

/** Replaces the server's request listeners (in order) with tapped ones; harnesses that take `listeners('request')[0]` get the tap too. */
export function tapFunctionServer<T extends Server>(functionName: string, server: T): T {
  if (!ledgerActive()) return server;
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  for (const listener of listeners) server.on('request', tapFunctionListener(functionName, listener));
  return server;
}
