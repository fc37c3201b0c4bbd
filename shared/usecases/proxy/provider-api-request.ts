// One proxied request to a provider's API: only to a URL inside the provider's boundary (routed through the origin
// overrides like every provider call), headers cleaned both ways, the body streamed within a cap, a timeout until the
// provider's answer begins.
import { type IncomingMessage, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform, type TransformCallback } from 'node:stream';
import { BrokerError } from '../../errors/broker-error.js';
import { relay } from '../../http/relay-stream.js';
import { providerAgentFor } from '../../http/provider-agents.js';
import { bodyTooLarge } from '../../http/request-body-limits.js';
import type { RequestBodySource } from '../../http/streamed-body.js';
import { type OriginOverrides, routeProviderUrl } from '../../oauth/origin-overrides.js';
import { type EndpointBoundary, requireAllowedEndpoint } from '../../providers/endpoint-boundary.js';

/** The largest request body the proxy forwards; larger ones are refused (413), announced or not. */
export const PROXY_REQUEST_BODY_LIMIT_BYTES = 64 * 1024 * 1024;
/** The largest reply body the proxy passes back; a longer one is cut off (the caller sees a truncated body). */
export const PROXY_REPLY_BODY_LIMIT_BYTES = 256 * 1024 * 1024;

/** Headers that describe one hop, not the message (RFC 9110 §7.6.1), and so never cross the proxy. */
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect']);
/** Caller headers that never reach the provider: credentials (the broker adds its own), cookies, platform and broker headers. */
const droppedRequestHeaders = new Set(['host', 'content-length', 'authorization', 'proxy-authorization', 'x-serverless-authorization', 'cookie', 'forwarded', 'traceparent', 'tracestate', 'x-cloud-trace-context']);
const droppedRequestPrefixes = ['x-broker-', 'x-forwarded-', 'x-goog-', 'x-envoy-'];
/** Provider headers that never reach the caller: cookies and credentials, and what describes the provider's own host. */
const droppedReplyHeaders = new Set(['set-cookie', 'set-cookie2', 'authorization', 'proxy-authorization', 'proxy-authenticate', 'alt-svc']);

/** Header names a `Connection` header lists: hop-by-hop for this message too. */
function connectionListed(pairs: readonly (readonly [string, string])[]): Set<string> {
  return new Set(
    pairs
      .filter(([name]) => name.toLowerCase() === 'connection')
      .flatMap(([, value]) => value.split(','))
      .map((name) => name.trim().toLowerCase()),
  );
}

function rawPairs(rawHeaders: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) pairs.push([rawHeaders[index] as string, rawHeaders[index + 1] as string]);
  return pairs;
}

/** The caller's headers the provider may see, as sent (repeats kept). */
export function forwardableRequestHeaders(rawHeaders: readonly string[]): [string, string][] {
  const pairs = rawPairs(rawHeaders);
  const listed = connectionListed(pairs);
  return pairs.filter(([name]) => {
    const lower = name.toLowerCase();
    return !hopByHop.has(lower) && !listed.has(lower) && !droppedRequestHeaders.has(lower) && !droppedRequestPrefixes.some((prefix) => lower.startsWith(prefix));
  });
}

/** The provider's headers the caller may see, as sent. */
export function passableReplyHeaders(rawHeaders: readonly string[]): [string, string][] {
  const pairs = rawPairs(rawHeaders);
  const listed = connectionListed(pairs);
  return pairs.filter(([name]) => {
    const lower = name.toLowerCase();
    return !hopByHop.has(lower) && !listed.has(lower) && !droppedReplyHeaders.has(lower);
  });
}

/** A body the proxy can send again (none, or bytes it holds), or a stream it can send once. */
export type OutboundBody = { readonly kind: 'none' } | { readonly kind: 'bytes'; readonly bytes: Buffer } | Extract<RequestBodySource, { kind: 'stream' }>;

export interface ProviderApiRequest {
  readonly method: string;
  /** The production URL, inside the boundary. */
  readonly url: URL;
  readonly headers: readonly (readonly [string, string])[];
  readonly accessToken: string;
  readonly body: OutboundBody;
  readonly timeoutMs: number;
}

export interface ProviderApiTransport {
  readonly overrides: OriginOverrides;
}

/** Counts what flows through, failing the stream once more than `limitBytes` passed. */
export function byteCap(limitBytes: number, refuse: () => Error): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > limitBytes) callback(refuse());
      else callback(null, chunk);
    },
  });
}

/**
 * Sends the request and resolves with the provider's answer as soon as its headers arrive (the body is left to the
 * caller to stream). Refuses (before any byte is sent) a URL outside the boundary; `provider_timeout` when no answer
 * begins in time; `provider_unavailable` when the provider cannot be reached; 413 when a streamed body outgrows the cap.
 */
export function sendProviderApiRequest(transport: ProviderApiTransport, boundary: EndpointBoundary, request: ProviderApiRequest): Promise<IncomingMessage> {
  requireAllowedEndpoint(boundary, request.url.href);
  const routed = routeProviderUrl(request.url.href, transport.overrides);
  // Raw header lines keep the caller's repeats; Node adds no Host to raw lines, so it is set here (the routed host).
  const headers: [string, string][] = [
    ['host', routed.host],
    ...request.headers.map(([name, value]): [string, string] => [name, value]),
    ['authorization', `Bearer ${request.accessToken}`],
  ];
  if (request.body.kind === 'bytes') headers.push(['content-length', String(request.body.bytes.length)]);
  if (request.body.kind === 'stream' && request.body.declaredLength !== undefined) headers.push(['content-length', String(request.body.declaredLength)]);
  const details = { origin: request.url.origin, reason: 'network' };
  return new Promise<IncomingMessage>((resolve, reject) => {
    const send = routed.protocol === 'https:' ? httpsRequest : httpRequest;
    const outbound = send(routed, {
      method: request.method,
      headers: headers.flat() as unknown as OutgoingHttpHeaders,
      // Kept-alive connections to provider hosts: a warm proxied call costs no TCP or TLS handshake.
      agent: providerAgentFor(routed),
    });
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outbound.destroy();
      reject(error);
    };
    const timer = setTimeout(() => {
      fail(new BrokerError('provider_timeout', 'The provider did not answer in time', { details: { ...details, reason: 'timeout' }, retryAfterSeconds: 1 }));
    }, request.timeoutMs);
    outbound.once('response', (reply) => {
      if (settled) {
        reply.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve(reply);
    });
    outbound.once('error', (error) => fail(new BrokerError('provider_unavailable', 'The provider could not be reached', { cause: error, details })));
    if (request.body.kind === 'none') outbound.end();
    else if (request.body.kind === 'bytes') outbound.end(request.body.bytes);
    else {
      // Streamed with back-pressure: the caller's upload moves at the provider's pace, never gathered in memory.
      relay(request.body.stream, byteCap(PROXY_REQUEST_BODY_LIMIT_BYTES, () => bodyTooLarge(PROXY_REQUEST_BODY_LIMIT_BYTES)), outbound).catch((error: unknown) => {
        fail(error instanceof BrokerError ? error : new BrokerError('invalid_request', 'The request body was incomplete', { cause: error }));
      });
    }
  });
}

/** Reads a small body whole, so the call can be replayed after a refresh (a 401); 413 past `limitBytes`. */
export async function readReplayableBody(stream: NodeJS.ReadableStream, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    total += bytes.length;
    if (total > limitBytes) throw bodyTooLarge(limitBytes);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, total);
}
