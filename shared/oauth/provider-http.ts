// Every outbound provider call: kept inside the provider's boundary, routed through the overrides, bounded by a
// timeout and a reply size, failures mapped to BrokerErrors.
import { BrokerError } from '../errors/broker-error.js';
import { type EndpointBoundary, requireAllowedEndpoint } from '../providers/endpoint-boundary.js';
import { type OriginOverrides, routeProviderUrl } from './origin-overrides.js';
import { replyTooLargeFailure } from './provider-failure.js';
import { nodeProviderTransport, type ProviderTransport, ReplyTooLarge } from './provider-transport.js';

export interface ProviderHttp {
  readonly overrides: OriginOverrides;
  /** Upper bound for one call, connect to last byte of the body. */
  readonly timeoutMs: number;
  /** How requests leave the process: node:http(s) unless a test injects its own. */
  readonly transport: ProviderTransport;
}

export const DEFAULT_PROVIDER_TIMEOUT_MS = 10_000;

/**
 * The most of a reply body the broker reads, after any content decoding. Token, discovery, identity, revocation and
 * OAuth 1.0a replies are a few kilobytes; a hostile or broken endpoint must not stream a process out of memory.
 */
export const MAX_PROVIDER_REPLY_BYTES = 1024 * 1024;

export function createProviderHttp(options: Partial<ProviderHttp> & { overrides: OriginOverrides }): ProviderHttp {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('timeoutMs must be a positive integer');
  return Object.freeze({ overrides: options.overrides, timeoutMs, transport: options.transport ?? nodeProviderTransport });
}

export interface OutboundRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** The production URL; routing happens here. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** This call's own bound instead of the client's: a refresh waits for a slow reply rather than lose a rotated token. */
  readonly timeoutMs?: number;
}

/** A provider reply with its body already read inside the timeout, so a stalled body cannot hang a caller. */
export interface ProviderReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/**
 * Sends one request, only to a production URL inside the provider's boundary (checked before the overrides reroute
 * it), and reads at most MAX_PROVIDER_REPLY_BYTES of the reply (`provider_error`, reason `response_too_large`);
 * network failures and timeouts become `provider_unavailable` (no URL query or body in errors).
 */
export async function sendProviderRequest(http: ProviderHttp, boundary: EndpointBoundary, request: OutboundRequest): Promise<ProviderReply> {
  requireAllowedEndpoint(boundary, request.url);
  const url = routeProviderUrl(request.url, http.overrides);
  const { origin, pathname: path } = new URL(request.url);
  // A plain timer rather than AbortSignal.timeout: one per provider call, cleared as soon as the reply is in.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), request.timeoutMs ?? http.timeoutMs);
  try {
    return await http.transport({
      method: request.method,
      url,
      headers: request.headers ?? {},
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: deadline.signal,
      maxReplyBytes: MAX_PROVIDER_REPLY_BYTES,
    });
  } catch (error) {
    if (error instanceof ReplyTooLarge) throw replyTooLargeFailure({ provider: boundary.provider, origin }, MAX_PROVIDER_REPLY_BYTES);
    const timedOut = deadline.signal.aborted;
    throw new BrokerError(
      'provider_unavailable',
      timedOut ? 'The provider did not answer in time' : 'The provider could not be reached',
      { cause: error, details: { origin, path, reason: timedOut ? 'timeout' : 'network' } },
    );
  } finally {
    clearTimeout(timer);
  }
}

