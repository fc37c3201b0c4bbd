// fast-check building blocks for hostile input: strings, JSON bodies, content types, queries, paths, headers, cookies and credentials.
import fc from 'fast-check';
import { type AuthVariant, type IapVariant, type Principal, SECRET_MARKER } from './fuzz-request.js';

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '../../../etc/passwd',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '%00',
  '%',
  '\uFEFF',
  '\uD800',
  '\u202E',
  'null',
  'undefined',
  'NaN',
  '${7*7}',
  '{{7*7}}',
  'javascript:alert(1)',
  '\r\nset-cookie: injected=1',
  'conn_',
  `conn_${'0'.repeat(30)}`,
  `conn_${'f'.repeat(29)}g`,
] as const;

/** A value a secret field might hold, tagged so a response that echoes it is caught. */
export const markedSecret = fc
  .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 })
  .map((hex) => `${SECRET_MARKER}${hex}`);

/** Long strings are rare and cheap to build (one repeated character), so a 10,000-request run stays fast. */
const hugeString = fc.tuple(fc.integer({ min: 1_000, max: 300_000 }), fc.constantFrom('a', 'é', '😀', '\u0000', '"', '\\')).map(([length, unit]) => unit.repeat(length));

/** For URLs and headers: long, but inside the 16 KB node (and Cloud Run's front end) allows a request head. */
export const boundedNastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 600 }).map((length) => 'b'.repeat(length)) },
);
// Secret-marked values go only where a secret belongs (API keys, codes, states, cookies, credentials): an
// identifier or a field name may rightly be echoed back in a validation problem.

export const nastyString: fc.Arbitrary<string> = fc.oneof({ weight: 12, arbitrary: boundedNastyString }, { weight: 1, arbitrary: hugeString });

export const nastyNumber: fc.Arbitrary<number | string> = fc.oneof(
  fc.integer({ min: -5, max: 4000 }),
  fc.constantFrom(0, -0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, 1800, 1801),
  fc.double(),
  fc.constantFrom('60', '1e3', '', '0x10'),
);

/** Any JSON-ish value, odd ones over-represented. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nastyString },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(nastyString, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(nastyString, nastyString, { maxKeys: 4 }) },
);

/** Each field: sometimes absent, mostly its plausible value, sometimes anything. */
export function shapedObject(fields: Readonly<Record<string, fc.Arbitrary<unknown>>>): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries(fields).map(([name, plausible]) =>
    fc.oneof({ weight: 6, arbitrary: plausible }, { weight: 1, arbitrary: nastyValue }, { weight: 1, arbitrary: fc.constant(undefined) }).map((value) => [name, value] as const),
  );
  const extras = fc.oneof(
    { weight: 6, arbitrary: fc.constant([] as (readonly [string, unknown])[]) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor', 'prototype')), nastyValue), { maxLength: 3 }) },
  );
  const mutated = fc.tuple(fc.tuple(...entries), extras).map(([pairs, extra]) => {
    // defineProperty: a literal `__proto__` key must become an own property, as JSON.parse makes it.
    const object: Record<string, unknown> = {};
    for (const [name, value] of [...pairs, ...extra]) {
      if (value !== undefined) Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
    }
    return object;
  });
  // Every field plausible at once, often enough that requests get through validation into the use cases.
  const plausible = fc.record(fields).map((object) => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)));
  return fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: plausible });
}

const pollutionPrefixes = [
  '{"__proto__":{"isAdmin":true,"tenants":"*"},',
  '{"constructor":{"prototype":{"polluted":true}},',
  '{"__proto__":null,',
  '{"__proto__":[1,2,3],',
] as const;

/** Body text: mostly the shaped object as JSON, plus every way JSON and its framing go wrong. */
export function jsonBodyText(shaped: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string | Uint8Array | undefined> {
  const shapedJson = shaped.map((object) => JSON.stringify(object));
  return fc.oneof(
    { weight: 12, arbitrary: shapedJson },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...pollutionPrefixes), shapedJson).map(([prefix, json]) => (json === '{}' ? `${prefix.slice(0, -1)}}` : `${prefix}${json.slice(1)}`)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":')).map(([depth, open]) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`) },
    { weight: 1, arbitrary: shapedJson.chain((json) => fc.integer({ min: 0, max: Math.max(0, json.length - 1) }).map((cut) => json.slice(0, cut))) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', '"just a string"', '42', '[]', '{', "{'a':1}", '{"a":1,}', 'nul', '\u0000', '{"a":"\u0000"}', '{"a":"\\ud800"}', 'NaN') },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.integer({ min: 500_000, max: 1_500_000 }).map((length) => `{"tenantId":"${'a'.repeat(length)}"}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/json; charset=',
      'APPLICATION/JSON',
      'application/problem+json',
      'application/merge-patch+json',
      'text/plain',
      'text/html',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      '*/*',
      'application/json, text/plain',
      ';;;',
      'application/',
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

// What node:http lets through in a header value: tab, visible ASCII, and obs-text bytes.
const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  { weight: 1, arbitrary: fc.constant(0x09) },
).map((code) => String.fromCharCode(code));
export const headerValue = fc.string({ unit: headerChar, maxLength: 80 });
const tokenChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_!#$%&\'*+.^`|~');

/** Headers besides the ones a function reads: tracing (parsed by the logger), forwarding, encodings, junk. */
export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom('x-cloud-trace-context', 'traceparent'), fc.oneof(headerValue, fc.constantFrom('105445aa7843bc8bf206b12000100000/1;o=1', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', '/', ';o=', 'x/'.repeat(100)))),
      fc.tuple(fc.constantFrom('content-encoding'), fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'zstd', 'bogus')),
      fc.tuple(fc.constantFrom('x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'origin', 'referer', 'accept', 'accept-encoding', 'sec-fetch-site', 'sec-fetch-mode', 'user-agent'), headerValue),
      fc.tuple(fc.string({ unit: tokenChar, minLength: 1, maxLength: 20 }).filter((name) => !['content-length', 'transfer-encoding', 'host', 'connection', 'expect', 'upgrade', 'authorization', 'cookie', 'content-type', 'x-serverless-authorization', 'x-goog-iap-jwt-assertion'].includes(name)), headerValue),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => Object.fromEntries(pairs));

/** Node (like Cloud Run's front end) refuses a request head over 16 KB before any function runs: stay inside it. */
const URL_BUDGET = 8_000;

export function withinUrlBudget(query: string): string {
  const cut = query.length <= URL_BUDGET ? query : query.slice(0, Math.max(0, query.lastIndexOf('&', URL_BUDGET)));
  return cut === '' ? '' : `?${cut}`;
}

/** Query strings: plausible keys and values, duplicates, pollution keys, and malformed percent-encodings. */
export function queryString(fields: Readonly<Record<string, fc.Arbitrary<string>>>): fc.Arbitrary<string> {
  const names = Object.keys(fields);
  const pair: fc.Arbitrary<readonly [string, string]> = fc.oneof(
    { weight: 6, arbitrary: names.length === 0 ? fc.tuple(nastyString, nastyString) : fc.constantFrom(...names).chain((name) => fc.tuple(fc.constant(name), fc.oneof({ weight: 4, arbitrary: fields[name] as fc.Arbitrary<string> }, { weight: 1, arbitrary: nastyString }))) },
    { weight: 1, arbitrary: fc.tuple(fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor', 'toString')), nastyString) },
  );
  const malformed = fc.constantFrom('', '', '', '', '&', '&&=&', '=x', '&%', '&%zz=1', '&a=%E0%A4%A', '&a=%uD800', '&a[b]=1', '&a=1&a=2');
  return fc.tuple(fc.array(pair, { maxLength: 6 }), malformed).map(([pairs, tail]) => {
    const search = new URLSearchParams(pairs.map(([name, value]) => [name.slice(0, 100), value.slice(0, 800)] as [string, string])).toString();
    return withinUrlBudget(`${search}${tail}`);
  });
}

/** Percent-encodes any string, lone surrogates included (they become U+FFFD, as a browser would send them). */
export function encodeSegment(value: string): string {
  return encodeURIComponent(Buffer.from(value, 'utf8').toString('utf8'));
}

/** A path segment: known routes mostly, then encoded junk, traversal and malformed encodings. */
export function pathOf(known: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...known) },
    { weight: 1, arbitrary: nastyString.map((segment) => `/${encodeSegment(segment.slice(0, 200))}`) },
    { weight: 1, arbitrary: fc.constantFrom('//', '/..', '/%2e%2e/', '/%', '/%zz', '/%E0%A4%A', '/%00', '/%2F', '/a/b/c/d', `/${'x'.repeat(2000)}`, '/.well-known/openid-configuration') },
  );
}

export const methodOf = (usual: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...usual) },
    { weight: 2, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE') },
    // Only methods node's parser knows: it answers others itself (400) before any function runs, as Cloud Run's front end does.
    { weight: 1, arbitrary: fc.constantFrom('PROPFIND', 'PURGE', 'MKCOL', 'SEARCH') },
  );

const jwtSegment = fc.base64String({ maxLength: 60 }).map((value) => value.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', ''));
const rawAuthorization: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', 'Bearer', 'Bearer ', 'bearer', 'Basic dXNlcjpwYXNz', 'Bearer a.b.c', 'Bearer ....', 'Bearer =', 'Bearer  x', 'Negotiate abc', 'Bearer eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImEifQ.'),
  fc.tuple(jwtSegment, jwtSegment, jwtSegment).map((parts) => `Bearer ${parts.join('.')}`),
  markedSecret.map((secret) => `Bearer ${secret}`),
  headerValue.map((value) => `Bearer ${value}`),
  headerValue,
);

/** Credentials: `allowed` is who may call this function; a valid token for them is the most common case. */
export function authVariant(allowed: readonly Principal[], validWeight = 14): fc.Arbitrary<AuthVariant> {
  const principal = fc.constantFrom<Principal>('caller', 'stranger', 'scheduler', 'operator');
  const broken: fc.Arbitrary<AuthVariant> = fc.record({
    kind: fc.constant('id-token' as const),
    principal,
    audience: fc.constantFrom('self' as const, 'sibling' as const, 'foreign' as const),
    expiry: fc.constantFrom('valid' as const, 'expired' as const, 'issued-in-future' as const),
    tamper: fc.constantFrom('none' as const, 'signature-removed' as const, 'signature-flipped' as const, 'alg-none' as const, 'payload-swapped' as const),
    placement: fc.constantFrom('authorization' as const, 'serverless' as const, 'both' as const),
  });
  const variants: fc.WeightedArbitrary<AuthVariant>[] = [
    { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'duplicate-authorization' as const }) },
    { weight: 2, arbitrary: rawAuthorization.map((value) => ({ kind: 'raw' as const, header: 'authorization', value })) },
    { weight: 4, arbitrary: broken },
  ];
  if (allowed.length > 0) {
    variants.push({
      weight: validWeight,
      arbitrary: fc.constantFrom(...allowed).map((who) => ({ kind: 'id-token' as const, principal: who, audience: 'self' as const, expiry: 'valid' as const, tamper: 'none' as const, placement: 'both' as const })),
    });
  }
  return fc.oneof(...variants);
}

export const iapVariant: fc.Arbitrary<IapVariant> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.oneof(headerValue, markedSecret, fc.tuple(jwtSegment, jwtSegment, jwtSegment).map((parts) => parts.join('.'))).map((value) => ({ kind: 'raw' as const, value })) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('assertion' as const),
      principal: fc.oneof({ weight: 4, arbitrary: fc.constant<Principal>('operator') }, { weight: 1, arbitrary: fc.constantFrom<Principal>('caller', 'stranger') }),
      audience: fc.oneof({ weight: 4, arbitrary: fc.constant('self' as const) }, { weight: 1, arbitrary: fc.constant('foreign' as const) }),
      expired: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      forged: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
  },
);

/** Cookie headers, including random `__Host-` flow cookies with secret-marked values. */
export const cookieHeader: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 }).map((hex) => `__Host-broker-flow-${hex}`), fc.constantFrom('__Host-broker-flow-', '__Host-', 'session', '__proto__'), fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 })),
          fc.oneof(markedSecret, fc.string({ unit: headerChar, maxLength: 40 }).map((value) => value.replaceAll(';', ''))),
        ),
        { maxLength: 4 },
      )
      .map((pairs) => pairs.map(([name, value]) => `${name}=${value}`).join('; ')),
  },
  { weight: 1, arbitrary: headerValue },
);
