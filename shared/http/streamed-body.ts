// A streaming function's request body, kept from the Functions Framework's parsers and handed to the handler unread.
//
// The framework's body parsers read every request that announces a body (Content-Length or Transfer-Encoding), up to
// 1024 MB, before any handler runs; they offer no switch. For a process whose functions stream (the proxy), the gate
// hides those two headers while the framework's middleware runs, and httpFunction puts them back before the handler:
// Node's own framing does not read the parsed header object, so the body still arrives, now for the handler alone.
import type { IncomingMessage } from 'node:http';

const bodyHeaders = ['content-length', 'transfer-encoding'] as const;
const hidden = new WeakMap<IncomingMessage, Partial<Record<(typeof bodyHeaders)[number], string>>>();

export function hideBodyFromFramework(req: IncomingMessage): void {
  const kept: Partial<Record<(typeof bodyHeaders)[number], string>> = {};
  for (const name of bodyHeaders) {
    const value = req.headers[name];
    if (value !== undefined) kept[name] = value;
    delete req.headers[name];
  }
  hidden.set(req, kept);
}

/** Puts back what the gate hid; a request the gate read whole (or that had no body) is left as it is. */
export function restoreHiddenBody(req: IncomingMessage): void {
  const kept = hidden.get(req);
  if (kept === undefined) return;
  hidden.delete(req);
  Object.assign(req.headers, kept);
}

/** What a streaming handler gets: no body, the bytes the gate already read (a mixed test harness), or the stream. */
export type RequestBodySource =
  | { readonly kind: 'none' }
  | { readonly kind: 'buffered'; readonly bytes: Buffer }
  | { readonly kind: 'stream'; readonly stream: IncomingMessage; readonly declaredLength: number | undefined };

export function requestBodySource(req: IncomingMessage & { rawBody?: Buffer }): RequestBodySource {
  if (req.rawBody !== undefined) return req.rawBody.length === 0 ? { kind: 'none' } : { kind: 'buffered', bytes: req.rawBody };
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (length === undefined || Number(length) === 0)) return { kind: 'none' };
  return { kind: 'stream', stream: req, declaredLength: chunked || length === undefined ? undefined : Number(length) };
}
