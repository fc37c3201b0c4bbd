// Reads a proxy request's target (`/{provider}/{path...}?{query}`) and refuses, before anything else happens, every
// shape that could make the forwarded URL leave the provider's API base.
//
// The forwarded URL is the API base plus this path, so only the path could steer it: an absolute URL or `//host` as
// the request target, userinfo (`@`), backslashes (which WHATWG URL parsing reads as slashes), dot segments, and the
// percent-encoded forms of slashes, backslashes, dots and percent signs (decoded by some servers after routing) are
// all refused. What passes is kept exactly as sent (percent-encodings included): it is both what the provider receives
// and what the caller's API rules are matched against.
import { BrokerError } from '../../errors/broker-error.js';

export interface ProxiedPath {
  readonly provider: string;
  /** The API path, `/` first; `/` alone for the base itself. */
  readonly path: string;
  /** The path's segments as sent (a trailing slash leaves a last empty segment). */
  readonly segments: readonly string[];
  /** The query as sent, `?` included, or ''. Never logged: its values may be personal data. */
  readonly search: string;
}

/** Why a target was refused: a stable value of the 400's `reason` detail. */
export const proxiedPathRefusals = [
  'not_origin_form',
  'provider_id',
  'userinfo',
  'backslash',
  'encoded_separator',
  'dot_segment',
  'empty_segment',
  'invalid_character',
] as const;
export type ProxiedPathRefusal = (typeof proxiedPathRefusals)[number];

const providerId = /^[a-z][a-z0-9_]{1,39}$/;
// RFC 3986 pchar minus `@` (userinfo), plus `/`; `%` only as the start of a percent-encoding.
const pathCharacters = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:/]|%[0-9A-Fa-f]{2})*$/;
// %2F `/`, %5C `\`, %2E `.`, %25 `%` (a second decoding's way in), %00.
const encodedSeparator = /%(?:2f|5c|2e|25|00)/i;
// A query may hold anything a URL may, but no fragment, whitespace or control character.
const queryCharacters = /^[\x21-\x22\x24-\x7E]*$/;

export function refuseProxiedPath(reason: ProxiedPathRefusal): BrokerError {
  return new BrokerError('invalid_proxy_path', 'The path must stay inside the provider\'s API: send /{provider}/{path} with plain segments', {
    details: { reason },
  });
}

/** The provider and API path of a request target (Node's `req.url`, raw), or a 400 `invalid_proxy_path`. */
export function parseProxiedPath(requestTarget: string): ProxiedPath {
  // Absolute-form (`http://host/...`) and authority-form targets, and `//host` (a network-path reference).
  if (!requestTarget.startsWith('/') || requestTarget.startsWith('//')) throw refuseProxiedPath('not_origin_form');
  const queryAt = requestTarget.indexOf('?');
  const rawPath = queryAt < 0 ? requestTarget : requestTarget.slice(0, queryAt);
  const search = queryAt < 0 ? '' : requestTarget.slice(queryAt);
  if (rawPath.includes('\\') || search.includes('\\')) throw refuseProxiedPath('backslash');
  if (rawPath.includes('@')) throw refuseProxiedPath('userinfo');
  if (encodedSeparator.test(rawPath)) throw refuseProxiedPath('encoded_separator');
  if (!pathCharacters.test(rawPath) || !queryCharacters.test(search)) throw refuseProxiedPath('invalid_character');
  const [provider = '', ...segments] = rawPath.slice(1).split('/');
  if (!providerId.test(provider)) throw refuseProxiedPath('provider_id');
  if (segments.some((segment) => segment === '.' || segment === '..')) throw refuseProxiedPath('dot_segment');
  // `/a//b` would be read by some servers as a new authority or root; only a trailing slash may leave one empty.
  if (segments.slice(0, -1).some((segment) => segment === '')) throw refuseProxiedPath('empty_segment');
  return { provider, path: `/${segments.join('/')}`, segments, search };
}

/**
 * The URL a call goes to: the API base with the path and query appended, checked once more after URL parsing to be
 * the base's own origin and under its path (a second line behind the parsing above).
 */
export function forwardedUrl(apiBase: URL, proxied: Pick<ProxiedPath, 'path' | 'search'>): URL {
  const basePath = apiBase.pathname === '/' ? '' : apiBase.pathname;
  const url = new URL(`${apiBase.origin}${basePath}${proxied.path === '/' && basePath !== '' ? '' : proxied.path}${proxied.search}`);
  const underBase = url.pathname === (basePath || '/') || url.pathname.startsWith(`${basePath}/`);
  if (url.origin !== apiBase.origin || !underBase || url.username !== '' || url.password !== '') throw refuseProxiedPath('not_origin_form');
  return url;
}
