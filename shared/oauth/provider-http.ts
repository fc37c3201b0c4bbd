// Every outbound provider call: kept inside the provider's boundary, routed through the overrides, bounded by a
// timeout, failures mapped to BrokerErrors.
import { BrokerError } from '../errors/broker-error.js';
import { type EndpointBoundary, requireAllowedEndpoint } from '../providers/endpoint-boundary.js';
import { type OriginOverrides, routeProviderUrl } from './origin-overrides.js';

export interface ProviderHttp {
  readonly overrides: OriginOverrides;
  /** Upper bound for one call, connect to last byte of the body. */
  readonly timeoutMs: number;
  readonly fetch: typeof fetch;
}

export const DEFAULT_PROVIDER_TIMEOUT_MS = 10_000;

export function createProviderHttp(options: Partial<ProviderHttp> & { overrides: OriginOverrides }): ProviderHttp {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('timeoutMs must be a positive integer');
  return Object.freeze({ overrides: options.overrides, timeoutMs, fetch: options.fetch ?? globalThis.fetch });
}

export interface OutboundRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** The production URL; routing happens here. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** A provider reply with its body already read inside the timeout, so a stalled body cannot hang a caller. */
export interface ProviderReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/**
 * Sends one request, only to a production URL inside the provider's boundary (checked before the overrides reroute
 * it); network failures and timeouts become `provider_unavailable` (no URL query or body in errors).
 */
export async function sendProviderRequest(http: ProviderHttp, boundary: EndpointBoundary, request: OutboundRequest): Promise<ProviderReply> {
  requireAllowedEndpoint(boundary, request.url);
  const url = routeProviderUrl(request.url, http.overrides);
  const signal = AbortSignal.timeout(http.timeoutMs);
  const where = { origin: new URL(request.url).origin, path: new URL(request.url).pathname };
  try {
    const response = await http.fetch(url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal,
    });
    const body = await response.text();
    return { status: response.status, headers: response.headers, body };
  } catch (error) {
    const timedOut = signal.aborted;
    throw new BrokerError(
      'provider_unavailable',
      timedOut ? 'The provider did not answer in time' : 'The provider could not be reached',
      { cause: error, details: { ...where, reason: timedOut ? 'timeout' : 'network' } },
    );
  }
}
