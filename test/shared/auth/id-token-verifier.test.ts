import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { authenticateCaller } from '../../../shared/auth/authenticate-caller.js';
import { type IdTokenVerifier, createIdTokenVerifier } from '../../../shared/auth/id-token-verifier.js';
import { BrokerError } from '../../../shared/errors/broker-error.js';
import { ManualClock } from '../../../shared/time/clock.js';
import { findFreePort } from '../../../local/free-port.js';
import { createIdTokenSigner, type IdTokenIssuer, startIdTokenIssuer } from '../../../local/id-token-issuer.js';
import { caught, expectNoTokenIn, expectRefusedWithoutLeak } from './token-leak.js';

const AUDIENCE = 'https://token-abc123-uc.a.run.app';
const CALLER = 'reader@acme-prod.iam.gserviceaccount.com';

let issuer: IdTokenIssuer;
let verifier: IdTokenVerifier;
let written: string[];

beforeAll(async () => {
  issuer = await startIdTokenIssuer();
  verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [issuer.issuer], jwksUrl: issuer.jwksUrl });
});
afterAll(() => issuer.stop());

// Anything the verifier or the library prints goes through here, so a leaked token would be seen.
beforeEach(() => {
  written = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: never[]) => {
      written.push(String(chunk));
      return original(chunk as string, ...rest);
    }) as typeof stream.write);
  }
});
afterEach(() => vi.restoreAllMocks());

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

async function expectRefused(token: string, reason: Parameters<typeof expectRefusedWithoutLeak>[1]): Promise<void> {
  const error = await caught(() => verifier.verify(token));
  expectRefusedWithoutLeak(error, reason, token);
  expectNoTokenIn(written.join(''), token);
}

function withSegment(token: string, index: number, replace: (segment: string) => string): string {
  const segments = token.split('.');
  segments[index] = replace(segments[index] ?? '');
  return segments.join('.');
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const decode = (segment: string): Record<string, unknown> => JSON.parse(Buffer.from(segment, 'base64url').toString());

describe('createIdTokenVerifier', () => {
  it('accepts a token from the trusted issuer and returns who the caller is', async () => {
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    const caller = await verifier.verify(token);
    expect(caller).toEqual({
      email: CALLER,
      subject: expect.stringMatching(/^\d{21}$/),
      audience: AUDIENCE,
      issuer: issuer.issuer,
    });
  });

  it('accepts any of several configured audiences, and only those', async () => {
    const both = createIdTokenVerifier({
      audiences: [AUDIENCE, 'https://broker.acme.example/token'],
      issuers: [issuer.issuer],
      jwksUrl: issuer.jwksUrl,
    });
    const second = await issuer.mint({ email: CALLER, audience: 'https://broker.acme.example/token' });
    await expect(both.verify(second)).resolves.toMatchObject({ audience: 'https://broker.acme.example/token' });
    await expectRefused(second, 'wrong_audience');
  });

  it('refuses an expired token', async () => {
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE, issuedAt: new Date(Date.now() - 2 * 3600_000) });
    await expectRefused(token, 'expired');
  });

  it('allows 30 seconds of clock skew, not the five minutes the library allows by itself', async () => {
    const justExpired = await issuer.mint({
      email: CALLER,
      audience: AUDIENCE,
      issuedAt: new Date((nowSeconds() - 3600 - 10) * 1000),
    });
    await expect(verifier.verify(justExpired)).resolves.toMatchObject({ email: CALLER });
    const expiredAMinuteAgo = await issuer.mint({
      email: CALLER,
      audience: AUDIENCE,
      issuedAt: new Date((nowSeconds() - 3600 - 60) * 1000),
    });
    await expectRefused(expiredAMinuteAgo, 'expired');
    const future = (seconds: number): Promise<string> =>
      issuer.mint({
        email: CALLER,
        audience: AUDIENCE,
        issuedAt: new Date((nowSeconds() + seconds) * 1000),
        expiresInSeconds: 600,
      });
    await expect(verifier.verify(await future(10))).resolves.toMatchObject({ email: CALLER });
    await expectRefused(await future(60), 'not_yet_valid');
    await expectRefused(await future(900), 'not_yet_valid');
  });

  it('judges expiry by the injected clock', async () => {
    const clock = new ManualClock(Date.now());
    const clocked = createIdTokenVerifier({
      audiences: [AUDIENCE],
      issuers: [issuer.issuer],
      jwksUrl: issuer.jwksUrl,
      clock,
    });
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    await expect(clocked.verify(token)).resolves.toMatchObject({ email: CALLER });
    clock.advance(3600_000 + 31_000);
    const error = await caught(() => clocked.verify(token));
    expectRefusedWithoutLeak(error, 'expired', token);
  });

  it('refuses tokens that live longer than an hour', async () => {
    await expectRefused(await issuer.mint({ email: CALLER, audience: AUDIENCE, expiresInSeconds: 7200 }), 'lifetime_too_long');
    // Issued in the past, so `exp` is near: only the iat-to-exp span gives it away.
    const longBackdated = await issuer.mint({
      email: CALLER,
      audience: AUDIENCE,
      issuedAt: new Date(Date.now() - 3 * 3600_000),
      expiresInSeconds: 3 * 3600 + 600,
    });
    await expectRefused(longBackdated, 'lifetime_too_long');
  });

  it('refuses a token for another audience', async () => {
    await expectRefused(await issuer.mint({ email: CALLER, audience: 'https://other-service.a.run.app' }), 'wrong_audience');
  });

  it('refuses a token naming another issuer, Google included, even when signed with a trusted key', async () => {
    for (const iss of ['https://accounts.google.com', 'accounts.google.com', 'http://127.0.0.1:1']) {
      await expectRefused(await issuer.mint({ email: CALLER, audience: AUDIENCE, extraClaims: { iss } }), 'wrong_issuer');
    }
  });

  it('refuses a token whose payload or signature was tampered with', async () => {
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    const forgedPayload = withSegment(token, 1, (segment) =>
      encode({ ...decode(segment), email: 'admin@acme-prod.iam.gserviceaccount.com' }),
    );
    await expectRefused(forgedPayload, 'bad_signature');
    const flipped = withSegment(token, 2, (segment) => {
      const middle = Math.floor(segment.length / 2);
      return `${segment.slice(0, middle)}${segment[middle] === 'A' ? 'B' : 'A'}${segment.slice(middle + 1)}`;
    });
    await expectRefused(flipped, 'bad_signature');
  });

  it('refuses a token signed by another key, whether its kid is unknown or borrowed', async () => {
    const impostor = await createIdTokenSigner({ issuer: issuer.issuer });
    const token = await impostor.mint({ email: CALLER, audience: AUDIENCE });
    await expectRefused(token, 'unknown_key');
    const borrowedKid = withSegment(token, 0, (segment) => encode({ ...decode(segment), kid: issuer.kid }));
    await expectRefused(borrowedKid, 'bad_signature');
  });

  it('refuses a token whose signature Cloud Run removed', async () => {
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    await expectRefused(withSegment(token, 2, () => 'SIGNATURE_REMOVED_BY_GOOGLE'), 'signature_removed');
  });

  it('refuses algorithms other than RS256 before any key is consulted', async () => {
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    for (const alg of ['none', 'HS256', 'ES256']) {
      await expectRefused(withSegment(token, 0, (segment) => encode({ ...decode(segment), alg })), 'unsupported_algorithm');
    }
  });

  it('refuses malformed tokens', async () => {
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    const [header = '', payload = ''] = token.split('.');
    for (const malformed of [
      `${header}.${payload}`,
      `${token}.extra`,
      `${header}.${payload}.`,
      `${header}.${Buffer.from('not json').toString('base64url')}.${token.split('.')[2]}`,
      `${header}.${payload}.sig+nature/`,
      'x'.repeat(9000),
    ]) {
      const error = await caught(() => verifier.verify(malformed));
      expectRefusedWithoutLeak(error, 'malformed_token', malformed);
    }
  });

  it('refuses a caller whose email is unverified or absent', async () => {
    await expectRefused(
      await issuer.mint({ email: CALLER, audience: AUDIENCE, extraClaims: { email_verified: false } }),
      'email_unverified',
    );
    await expectRefused(
      await issuer.mint({ email: CALLER, audience: AUDIENCE, extraClaims: { email_verified: 'true' } }),
      'email_unverified',
    );
    await expectRefused(
      await issuer.mint({ email: CALLER, audience: AUDIENCE, extraClaims: { email: undefined, email_verified: undefined } }),
      'email_missing',
    );
  });

  it('fetches the keys once and serves later and concurrent verifications from the cache', async () => {
    const own = await startIdTokenIssuer();
    try {
      const cached = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [own.issuer], jwksUrl: own.jwksUrl });
      const tokens = await Promise.all(Array.from({ length: 5 }, (_, index) => own.mint({ email: `caller-${index}@p.iam.gserviceaccount.com`, audience: AUDIENCE })));
      const callers = await Promise.all(tokens.map((token) => cached.verify(token)));
      expect(callers.map((caller) => caller.email)).toEqual(tokens.map((_, index) => `caller-${index}@p.iam.gserviceaccount.com`));
      await cached.verify(tokens[0] ?? '');
      expect(own.requestCounts()).toEqual({ jwks: 1 });
    } finally {
      await own.stop();
    }
  });

  it('answers identity_unavailable (503, retryable), not unauthenticated, when the keys cannot be fetched', async () => {
    const port = await findFreePort();
    const stranded = createIdTokenVerifier({
      audiences: [AUDIENCE],
      issuers: [issuer.issuer],
      jwksUrl: `http://127.0.0.1:${port}/oauth2/v3/certs`,
    });
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    const error = await caught(() => stranded.verify(token));
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('identity_unavailable');
    expect((error as BrokerError).status).toBe(503);
    expect((error as BrokerError).retryable).toBe(true);
    expectNoTokenIn(JSON.stringify({ message: (error as Error).message }), token);
  });

  it('fails at construction without an audience, and on options that would weaken it', () => {
    const base = { audiences: [AUDIENCE], issuers: [issuer.issuer], jwksUrl: issuer.jwksUrl };
    const error = (() => {
      try {
        createIdTokenVerifier({ ...base, audiences: [] });
      } catch (caughtError) {
        return caughtError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('misconfigured');
    expect((error as BrokerError).message).toContain('ID_TOKEN_AUDIENCES');
    expect(() => createIdTokenVerifier({ ...base, issuers: [] })).toThrow(TypeError);
    expect(() => createIdTokenVerifier({ ...base, jwksUrl: 'http://keys.example.com/certs' })).toThrow(TypeError);
    expect(() => createIdTokenVerifier({ ...base, clockSkewSeconds: 3600 })).toThrow(TypeError);
  });
});

describe('authenticateCaller', () => {
  /** Headers as a Node request receives them: a flat list of names and values, every repeat kept. */
  const received = (...pairs: [string, string][]) => ({ rawHeaders: pairs.flat() });
  const bearer = (token: string) => received(['Authorization', `Bearer ${token}`]);

  it('returns the verified caller from Authorization, in Node or Fetch header form', async () => {
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    await expect(authenticateCaller(bearer(token), verifier)).resolves.toMatchObject({ email: CALLER });
    await expect(authenticateCaller(new Headers({ Authorization: `bearer ${token}` }), verifier)).resolves.toMatchObject({
      email: CALLER,
    });
  });

  it('refuses a request without Authorization, even when X-Serverless-Authorization carries a token', async () => {
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    const error = await caught(() => authenticateCaller(received(['X-Serverless-Authorization', `Bearer ${token}`]), verifier));
    expectRefusedWithoutLeak(error, 'missing_authorization', token);
    expectRefusedWithoutLeak(await caught(() => authenticateCaller(received(['Authorization', '']), verifier)), 'missing_authorization', token);
  });

  it('refuses a malformed Authorization header without echoing it', async () => {
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    for (const value of [`Basic ${token}`, 'Bearer', `Bearer ${token} ${token}`, `Token ${token}`, token]) {
      const error = await caught(() => authenticateCaller(received(['authorization', value]), verifier));
      expectRefusedWithoutLeak(error, 'malformed_authorization', token);
    }
  });

  it('refuses a credential header sent twice, whichever copy is valid, in either order', async () => {
    const token = await issuer.mint({ email: CALLER, audience: AUDIENCE });
    const intruder = await issuer.mint({ email: 'intruder@elsewhere.iam.gserviceaccount.com', audience: AUDIENCE });
    for (const [first, second] of [[token, intruder], [intruder, token], [token, token]] as const) {
      const twice = received(['Authorization', `Bearer ${first}`], ['authorization', `Bearer ${second}`]);
      expectRefusedWithoutLeak(await caught(() => authenticateCaller(twice, verifier)), 'malformed_authorization', token);
      const serverlessTwice = received(['X-Serverless-Authorization', `Bearer ${first}`], ['Authorization', `Bearer ${token}`], ['x-serverless-authorization', `Bearer ${second}`]);
      expectRefusedWithoutLeak(await caught(() => authenticateCaller(serverlessTwice, verifier)), 'malformed_authorization', token);
    }
    // One of each is the documented convention, and is accepted.
    const convention = received(['X-Serverless-Authorization', `Bearer ${token}`], ['Authorization', `Bearer ${token}`]);
    await expect(authenticateCaller(convention, verifier)).resolves.toMatchObject({ email: CALLER });
    const combined = new Headers([
      ['authorization', `Bearer ${token}`],
      ['authorization', `Bearer ${token}`],
    ]);
    expectRefusedWithoutLeak(await caught(() => authenticateCaller(combined, verifier)), 'malformed_authorization', token);
  });

  it('refuses what Cloud Run passes on when the caller sent the token only in Authorization', async () => {
    const stripped = withSegment(await issuer.mint({ email: CALLER, audience: AUDIENCE }), 2, () => 'SIGNATURE_REMOVED_BY_GOOGLE');
    const error = await caught(() => authenticateCaller(bearer(stripped), verifier));
    expectRefusedWithoutLeak(error, 'signature_removed', stripped);
    expect((error as Error).message).toContain('X-Serverless-Authorization');
  });
});
