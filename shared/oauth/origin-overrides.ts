// Where outbound provider calls really go: production URLs, or the loopback sandbox named by PROVIDER_ORIGIN_OVERRIDES.
import { isHttpsOrLoopbackHttp, isLoopbackHostname } from '../config/loopback-url.js';
import { BrokerError } from '../errors/broker-error.js';

/** Production origin (`https://slack.com`) → base URL it is served from (`http://127.0.0.1:4010/slack.com`). */
export type OriginOverrides = ReadonlyMap<string, string>;

export const noOriginOverrides: OriginOverrides = new Map();

/** Whether a URL points at this machine; the only place plain http is ever allowed. */
export function isLoopbackUrl(url: URL): boolean {
  return isLoopbackHostname(url.hostname);
}

/**
 * Rewrites a production URL through the overrides, keeping path and query, and refuses anything that is neither
 * https nor loopback http (a provider on this machine, or an override), so a bad template or discovery document
 * cannot downgrade.
 */
export function routeProviderUrl(productionUrl: string, overrides: OriginOverrides): URL {
  if (!URL.canParse(productionUrl)) throw new BrokerError('misconfigured', 'A provider endpoint is not a valid URL');
  const url = new URL(productionUrl);
  const target = overrides.get(url.origin);
  if (target !== undefined) {
    const base = new URL(target);
    const routed = new URL(base.href.replace(/\/$/, '') + url.pathname + url.search);
    if (!isLoopbackUrl(routed)) throw new BrokerError('misconfigured', 'Provider origin overrides must target loopback');
    return routed;
  }
  if (!isHttpsOrLoopbackHttp(url)) {
    throw new BrokerError('misconfigured', 'Provider endpoints must use https (http only on loopback)', { details: { origin: url.origin } });
  }
  return url;
}
