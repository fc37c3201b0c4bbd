// The scanner behind the whole-run leak check: a secret planted in any haystack is found and reported masked; the start
// step's redirect to the provider may carry the state and the OAuth 1.0a request token, and nothing else anywhere may.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DocumentRecord, LogRecord, NeedleRecord, ResponseRecord } from '../../../local/leak-ledger/ledger-record.js';
import { createLeakScanner, responseText } from './leak-scanner.js';
import { createNeedleIndex, MIN_NEEDLE_LENGTH } from './needle-index.js';

const PROVIDER = 'http://127.0.0.1:41001';
const secret = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;
const needle = (value: string, kind = 'sandbox:issued'): NeedleRecord => ({ t: 'needle', kind, value, file: 'test/issuer.test.ts' });
const log = (line: string): LogRecord => ({ t: 'log', file: 'test/logs.test.ts', source: 'logger', line });
const document = (text: string): DocumentRecord => ({
  t: 'document',
  file: 'test/docs.test.ts',
  projectId: 'test-p',
  path: 'projects/test-p/databases/(default)/documents/connections/c1',
  version: '2026-01-01T00:00:00.000001Z',
  text,
});
const response = (overrides: Partial<ResponseRecord> = {}): ResponseRecord => ({
  t: 'response',
  file: 'test/functions.test.ts',
  function: 'connections',
  method: 'GET',
  path: '/',
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: '{}',
  providerOrigins: [PROVIDER],
  ...overrides,
});
/** The start step's answer: 302 to the provider's authorization endpoint with the flow's state. */
const startRedirect = (query: string, overrides: Partial<ResponseRecord> = {}): ResponseRecord => {
  const location = `${PROVIDER}/slack.com/oauth/v2/authorize?client_id=c&${query}`;
  return response({ function: 'callback', path: '/start', status: 302, headers: { location, 'set-cookie': ['__Host-flow=abc'] }, body: `Found. Redirecting to ${location}`, ...overrides });
};

describe('the leak scanner', () => {
  it('finds a secret planted in a log line, a function answer and a stored document, and says where', () => {
    const code = secret('sbxcode_slack_');
    const token = secret('sbxat_');
    const key = randomBytes(32).toString('hex');
    const scanner = createLeakScanner([needle(code), needle(token), needle(key, 'kms:unwrapped_plaintext:hex')]);
    scanner.scanLog(log(`{"severity":"INFO","event":"callback.done","message":"exchanged ${code}"}`));
    scanner.scanResponse(response({ function: 'admin', path: '/api/connections/c1', body: `{"token":"${token}"}` }));
    scanner.scanDocument(document(`{"dataKey":{"stringValue":"${key}"}}`));
    scanner.scanLog(log('{"severity":"INFO","event":"refresh.succeeded","message":"nothing secret"}'));

    const hits = scanner.hits();
    expect(hits.map((hit) => [hit.haystackKind, hit.needleKind])).toEqual([
      ['log', 'sandbox:issued'],
      ['response', 'sandbox:issued'],
      ['document', 'kms:unwrapped_plaintext:hex'],
    ]);
    expect(hits[0]?.where).toBe('test/logs.test.ts (logger)');
    expect(hits[1]?.where).toBe('admin GET /api/connections/c1 → 200 application/json in test/functions.test.ts');
    expect(hits[2]?.where).toContain('documents/connections/c1');
    expect(hits.every((hit) => hit.issuedIn === 'test/issuer.test.ts')).toBe(true);
    expect(scanner.counts()).toMatchObject({ needles: 3, log: 2, response: 1, document: 1 });
  });

  it('never prints a whole secret: the report shows a prefix, a suffix and the length, and masks it in the excerpt', () => {
    const token = secret('sbxrt_slack_');
    const scanner = createLeakScanner([needle(token)]);
    scanner.scanLog(log(`before ${token} after`));
    const [hit] = scanner.hits();
    expect(hit?.maskedNeedle).toBe(`${token.slice(0, 6)}…${token.slice(-4)} (${token.length} chars)`);
    expect(JSON.stringify(hit)).not.toContain(token);
    expect(hit?.excerpt).toBe('before «sandbox:issued» after');
  });

  it('finds the URL-encoded form of a secret (a base64 data key in a query string)', () => {
    let key = randomBytes(32).toString('base64');
    while (encodeURIComponent(key) === key) key = randomBytes(32).toString('base64');
    const scanner = createLeakScanner([needle(key, 'kms:wrapped_plaintext:base64')]);
    scanner.scanLog(log(`{"url":"https://example.test/x?k=${encodeURIComponent(key)}"}`));
    expect(scanner.hits()).toMatchObject([{ form: 'url-encoded', haystackKind: 'log' }]);
  });

  it('lets the start step redirect to the provider carry the state and the request token, in its Location and its body', () => {
    const state = secret('');
    const requestToken = secret('sbxreq_trello_');
    const scanner = createLeakScanner([needle(state, 'sandbox:state_received'), needle(requestToken)]);
    scanner.scanResponse(startRedirect(`state=${state}&oauth_token=${requestToken}`));
    expect(scanner.hits()).toEqual([]);
    expect(scanner.counts().response).toBe(1);
  });

  it('still finds that state in a log line, in another answer, and in a redirect anywhere but the provider', () => {
    const state = secret('');
    const scanner = createLeakScanner([needle(state, 'sandbox:state_received')]);
    scanner.scanResponse(startRedirect(`state=${state}`));
    scanner.scanLog(log(`{"severity":"INFO","event":"flow.started","message":"state ${state}"}`));
    scanner.scanResponse(startRedirect(`state=${state}`, { providerOrigins: [] }));
    scanner.scanResponse(startRedirect(`state=${state}`, { function: 'authorize' }));
    scanner.scanResponse(startRedirect(`state=${state}`, { path: '/' }));
    scanner.scanResponse(startRedirect(`state=${state}`, { status: 200 }));
    scanner.scanDocument(document(`{"state":{"stringValue":"${state}"}}`));
    expect(scanner.hits().map((hit) => hit.where)).toEqual([
      'test/logs.test.ts (logger)',
      'callback GET /start → 302 in test/functions.test.ts',
      'authorize GET /start → 302 in test/functions.test.ts',
      'callback GET / → 302 in test/functions.test.ts',
      'callback GET /start → 200 in test/functions.test.ts',
      'projects/test-p/databases/(default)/documents/connections/c1 (dumped by test/docs.test.ts)',
    ]);
  });

  it('excludes only the state and the request token: any other secret in that same redirect is a leak', () => {
    const state = secret('');
    const code = secret('sbxcode_slack_');
    const requestSecret = secret('sbxreqsecret_trello_');
    const scanner = createLeakScanner([needle(state), needle(code), needle(requestSecret)]);
    scanner.scanResponse(startRedirect(`state=${state}&oauth_token_secret=${requestSecret}`, { headers: { location: `${PROVIDER}/a?state=${state}&oauth_token_secret=${requestSecret}`, 'x-debug': code } }));
    expect(scanner.hits().map((hit) => hit.maskedNeedle).sort()).toEqual([code, requestSecret].map((value) => `${value.slice(0, 6)}…${value.slice(-4)} (${value.length} chars)`).sort());
  });

  it('does not search the token function\'s 200 (it carries an access token by design), but does search its errors', () => {
    const token = secret('sbxat_');
    const scanner = createLeakScanner([needle(token)]);
    scanner.scanResponse(response({ function: 'token', method: 'POST', body: `{"accessToken":"${token}"}` }));
    expect(scanner.hits()).toEqual([]);
    scanner.scanResponse(response({ function: 'token', method: 'POST', status: 401, body: `{"detail":"${token}"}` }));
    expect(scanner.hits()).toHaveLength(1);
    expect(scanner.counts()).toMatchObject({ response: 1, tokenAnswersSkipped: 1 });
  });

  it('searches headers as well as bodies', () => {
    const token = secret('sbxat_');
    const scanner = createLeakScanner([needle(token)]);
    scanner.scanResponse(response({ headers: { 'set-cookie': [`session=${token}; Path=/`] } }));
    expect(scanner.hits()).toHaveLength(1);
    expect(responseText(response({ headers: { 'set-cookie': [`session=${token}`] } }))).toContain(token);
  });
});

describe('the needle index', () => {
  it('finds needles at the very start and end of a text, sharing a tail, and every occurrence', () => {
    const tail = 'x'.repeat(MIN_NEEDLE_LENGTH);
    const values = [`a-${tail}`, `bb-${tail}`, 'starts-the-text-0123', 'ends-the-text-456789'];
    const index = createNeedleIndex(values, (value) => value);
    const text = `starts-the-text-0123 … bb-${tail} … a-${tail} … a-${tail} ends-the-text-456789`;
    const found = index.find(text).map((match) => [match.needle, text.slice(match.at, match.at + match.length)]);
    expect(found.map(([value]) => value)).toEqual(['starts-the-text-0123', `bb-${tail}`, `a-${tail}`, `a-${tail}`, 'ends-the-text-456789']);
    expect(found.every(([value, slice]) => value === slice)).toBe(true);
  });

  it('leaves out needles too short to search, and counts them', () => {
    const index = createNeedleIndex(['short', 'exactly-16-chars', 'exactly-16-chars'], (value) => value);
    expect(index.size).toBe(1);
    expect(index.tooShort).toBe(1);
    expect(index.find('a short text')).toEqual([]);
    expect(index.find('it is exactly-16-chars long')).toHaveLength(1);
  });

  it('agrees with a plain substring search on random texts', () => {
    const alphabet = 'ab';
    const pick = (length: number) => Array.from({ length }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
    const needles = Array.from({ length: 30 }, () => pick(MIN_NEEDLE_LENGTH + Math.floor(Math.random() * 4)));
    const index = createNeedleIndex(needles, (value) => value);
    for (let round = 0; round < 20; round += 1) {
      const text = pick(2_000);
      const expected = [...new Set(needles)].filter((value) => text.includes(value)).sort();
      expect([...new Set(index.find(text).map((match) => match.needle))].sort()).toEqual(expected);
    }
  });
});
