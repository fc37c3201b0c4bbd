// OAuth 1.0a request signing with HMAC-SHA1 (RFC 5849 §3.4), for the one provider still on it (Trello).
import { createHmac } from 'node:crypto';

/** RFC 5849 §3.6: RFC 3986 unreserved characters stay, everything else is %XX (uppercase). */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface SignatureInput {
  readonly method: string;
  readonly url: string;
  /** oauth_* protocol parameters (without oauth_signature). */
  readonly oauthParams: Readonly<Record<string, string>>;
  /** Form body parameters (application/x-www-form-urlencoded only). */
  readonly bodyParams?: readonly (readonly [string, string])[];
  readonly consumerSecret: string;
  readonly tokenSecret?: string;
}

/** §3.4.1.2: scheme and host lowercase, default port dropped, no query or fragment. */
export function baseStringUri(rawUrl: string): string {
  const url = new URL(rawUrl);
  const defaultPort = (url.protocol === 'http:' && url.port === '80') || (url.protocol === 'https:' && url.port === '443');
  const port = url.port === '' || defaultPort ? '' : `:${url.port}`;
  return `${url.protocol}//${url.hostname.toLowerCase()}${port}${url.pathname}`;
}

/** §3.4.1: METHOD&uri&normalized-parameters, each part percent-encoded. */
export function signatureBaseString(input: SignatureInput): string {
  const url = new URL(input.url);
  const pairs: [string, string][] = [
    ...[...url.searchParams.entries()],
    ...Object.entries(input.oauthParams),
    ...(input.bodyParams ?? []).map(([k, v]) => [k, v] as [string, string]),
  ].map(([k, v]) => [percentEncode(k), percentEncode(v)]);
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const normalized = pairs.map(([k, v]) => `${k}=${v}`).join('&');
  return [input.method.toUpperCase(), percentEncode(baseStringUri(input.url)), percentEncode(normalized)].join('&');
}

export function hmacSha1Signature(input: SignatureInput): string {
  const key = `${percentEncode(input.consumerSecret)}&${percentEncode(input.tokenSecret ?? '')}`;
  return createHmac('sha1', key).update(signatureBaseString(input)).digest('base64');
}

/** The `Authorization: OAuth ...` header value (§3.5.1), signature included. */
export function oauth1AuthorizationHeader(input: SignatureInput): string {
  const signed = { ...input.oauthParams, oauth_signature: hmacSha1Signature(input) };
  return `OAuth ${Object.entries(signed)
    .map(([k, v]) => `${percentEncode(k)}="${percentEncode(v)}"`)
    .join(', ')}`;
}

/** Parses an `Authorization: OAuth ...` header (the sandbox verifies signatures with it). */
export function parseOAuth1AuthorizationHeader(header: string): Record<string, string> | undefined {
  if (!/^OAuth\s/i.test(header)) return undefined;
  const result: Record<string, string> = {};
  for (const match of header.slice(6).matchAll(/([A-Za-z0-9_%.-]+)="([^"]*)"/g)) {
    result[decodeURIComponent(match[1] as string)] = decodeURIComponent(match[2] as string);
  }
  return result;
}
