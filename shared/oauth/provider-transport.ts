// How a provider call leaves the process: Node's own http and https clients over the provider agents, the reply read
// with a size cap after any content decoding, the whole call ended by the caller's abort signal.
//
// Why not fetch: a refresh sweep spends most of its CPU on its I/O, and fetch is the dearest part of it. Measured on
// the bench box (a token reply from a local server, 80 in flight, client and server CPU together, three rounds):
// fetch with the broker's abort signals 0.36-0.60 ms per call, node:http 0.06-0.13 ms. fetch's web streams, its
// Request and Response objects and AbortSignal.timeout are the difference; a provider call needs none of them.
//
// What fetch did that is kept here: redirects are never followed (node:http never follows them); a compressed reply is
// decoded (gzip, deflate, br), and the cap counts decoded bytes, so a small compressed bomb is refused like a large
// reply; a User-Agent is sent ("Requests with no User-Agent header will be rejected":
// https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent).
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { providerAgentFor } from '../http/provider-agents.js';

export interface TransportRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Where the request goes, already routed (origin overrides applied) and checked against the provider's boundary. */
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Ends the call wherever it is (connecting, sending, reading), rejecting with the signal's reason. */
  readonly signal: AbortSignal;
  /** The most reply bytes read, after decoding; past it the connection is dropped and ReplyTooLarge thrown. */
  readonly maxReplyBytes: number;
}

export interface TransportReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export type ProviderTransport = (request: TransportRequest) => Promise<TransportReply>;

/** The reply announced or grew past the request's cap; what the caller tells its own caller is its business. */
export class ReplyTooLarge extends Error {
  constructor() {
    super('The reply is larger than the cap');
    this.name = 'ReplyTooLarge';
  }
}

const USER_AGENT = 'oauth-broker';

/** The decoder for a reply's Content-Encoding; none for identity, and none for a coding it does not know (as fetch). */
function decoderFor(encoding: string | undefined): Transform | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      // Read as it came: a body the broker cannot parse ends as the provider's malformed reply, not a network failure.
      return undefined;
  }
}

function headersOf(incoming: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) headers.append(raw[index] as string, raw[index + 1] as string);
  return headers;
}

/** Sends one request with node:http or node:https; see the module header for what it keeps of fetch's behaviour. */
export const nodeProviderTransport: ProviderTransport = (request) =>
  new Promise<TransportReply>((resolve, reject) => {
    const { url } = request;
    const agent = providerAgentFor(url);
    if (agent === undefined) {
      reject(new TypeError(`unsupported protocol ${url.protocol}`));
      return;
    }
    const { signal } = request;
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let settled = false;
    const streams: { destroy(): unknown }[] = [];
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      // Dropped, not drained: whatever the server still sends is not read.
      for (const stream of streams) stream.destroy();
      reject(error);
    };
    const succeed = (reply: TransportReply) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(reply);
    };
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });

    const headers: Record<string, string | number> = { 'user-agent': USER_AGENT, ...request.headers };
    if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send(url, { method: request.method, headers, agent }, (incoming) => {
      streams.push(incoming);
      const declared = Number(incoming.headers['content-length'] ?? '0');
      if (declared > request.maxReplyBytes) {
        fail(new ReplyTooLarge());
        return;
      }
      const decoder = decoderFor(incoming.headers['content-encoding']);
      const source = decoder ?? incoming;
      if (decoder !== undefined) {
        streams.push(decoder);
        incoming.once('error', fail);
        incoming.pipe(decoder);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      source.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > request.maxReplyBytes) fail(new ReplyTooLarge());
        else chunks.push(chunk);
      });
      source.once('error', fail);
      // A connection closed before the body ended is an error, not a short reply.
      incoming.once('close', () => {
        if (!incoming.complete) fail(new Error('the connection closed before the reply ended'));
      });
      source.once('end', () => succeed({ status: incoming.statusCode ?? 0, headers: headersOf(incoming), body: new TextDecoder().decode(Buffer.concat(chunks)) }));
    });
    streams.push(outgoing);
    outgoing.once('error', fail);
    outgoing.end(request.body);
  });
