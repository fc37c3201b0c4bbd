import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createIdTokenVerifier } from '../../../shared/auth/id-token-verifier.js';
import { ManualClock } from '../../../shared/time/clock.js';
import { createIdTokenSigner, type IdTokenIssuer, type IdTokenSigner, startIdTokenIssuer } from '../../../local/id-token-issuer.js';
import { caught, expectRefusedWithoutLeak } from './token-leak.js';

const AUDIENCE = 'https://token-abc123-uc.a.run.app';
const CALLER = 'reader@acme-prod.iam.gserviceaccount.com';

let issuer: IdTokenIssuer;

beforeAll(async () => {
  issuer = await startIdTokenIssuer();
});
afterAll(() => issuer.stop());
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** Counts the signature verifications the library performs, which remembered tokens skip. */
function countSignatureChecks(): () => number {
  const spy = vi.spyOn(OAuth2Client.prototype, 'verifyIdToken');
  return () => spy.mock.calls.length;
}

/** A key server whose key set can be swapped, like Google's during a rotation (max-age as Google sends it). */
async function startRotatingKeyServer(initial: IdTokenSigner): Promise<{ certsUrl: string; serve(signer: IdTokenSigner): void; stop(): Promise<void> }> {
  let current = initial;
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
    response.end(JSON.stringify(current.pemCerts()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    certsUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/v1/certs`,
    serve: (signer) => {
      current = signer;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the ID-token verifier remembers verified tokens', () => {
  it('checks a repeated token’s signature once, and each new token’s on its first use', async () => {
    const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [issuer.issuer], certsUrl: issuer.certsUrl });
    const checks = countSignatureChecks();
    const first = issuer.mint({ email: CALLER, audience: AUDIENCE });
    for (let use = 0; use < 5; use += 1) await expect(verifier.verify(first)).resolves.toMatchObject({ email: CALLER });
    expect(checks()).toBe(1);
    const other = issuer.mint({ email: 'other@acme-prod.iam.gserviceaccount.com', audience: AUDIENCE });
    await expect(verifier.verify(other)).resolves.toMatchObject({ email: 'other@acme-prod.iam.gserviceaccount.com' });
    expect(checks()).toBe(2);
  });

  it('still refuses a remembered token once it has expired, by the injected clock', async () => {
    const clock = new ManualClock(Date.now());
    const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [issuer.issuer], certsUrl: issuer.certsUrl, clock });
    const token = issuer.mint({ email: CALLER, audience: AUDIENCE });
    await expect(verifier.verify(token)).resolves.toMatchObject({ email: CALLER });
    clock.advance(3600_000 + 31_000);
    expectRefusedWithoutLeak(await caught(() => verifier.verify(token)), 'expired', token);
    // And again: a refusal is not remembered as anything else.
    expectRefusedWithoutLeak(await caught(() => verifier.verify(token)), 'expired', token);
  });

  it('refuses a remembered token whose signature was altered: only the exact token verified is remembered', async () => {
    const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [issuer.issuer], certsUrl: issuer.certsUrl });
    const token = issuer.mint({ email: CALLER, audience: AUDIENCE });
    await verifier.verify(token);
    const [header, payload, signature = ''] = token.split('.');
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    const altered = `${header}.${payload}.${flipped}`;
    expectRefusedWithoutLeak(await caught(() => verifier.verify(altered)), 'bad_signature', altered);
  });

  it('forgets what it verified when the key set is fetched anew, so a withdrawn key’s tokens are refused', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const issuerName = 'https://rotating-issuer.test';
    const [oldKey, newKey] = await Promise.all([createIdTokenSigner({ issuer: issuerName }), createIdTokenSigner({ issuer: issuerName })]);
    const keys = await startRotatingKeyServer(oldKey);
    try {
      const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [issuerName], certsUrl: keys.certsUrl });
      const signedWithOld = oldKey.mint({ email: CALLER, audience: AUDIENCE });
      await expect(verifier.verify(signedWithOld)).resolves.toMatchObject({ email: CALLER });
      keys.serve(newKey);
      // Within the key set's max-age the library keeps the old set, and so may the verifier.
      await expect(verifier.verify(signedWithOld)).resolves.toMatchObject({ email: CALLER });
      vi.setSystemTime(Date.now() + 301_000);
      const signedWithNew = newKey.mint({ email: CALLER, audience: AUDIENCE });
      await expect(verifier.verify(signedWithNew)).resolves.toMatchObject({ email: CALLER });
      expectRefusedWithoutLeak(await caught(() => verifier.verify(signedWithOld)), 'unknown_key', signedWithOld);
    } finally {
      await keys.stop();
    }
  });

  it('remembers at most verifiedTokenCacheSize tokens, and none at 0', async () => {
    const tokens = ['a', 'b', 'c'].map((name) => issuer.mint({ email: `${name}@acme-prod.iam.gserviceaccount.com`, audience: AUDIENCE }));
    const bounded = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [issuer.issuer], certsUrl: issuer.certsUrl, verifiedTokenCacheSize: 2 });
    const checks = countSignatureChecks();
    for (const token of tokens) await bounded.verify(token);
    expect(checks()).toBe(3);
    // The oldest was let go to make room; the two latest are still remembered.
    await bounded.verify(tokens[2] ?? '');
    await bounded.verify(tokens[1] ?? '');
    expect(checks()).toBe(3);
    await bounded.verify(tokens[0] ?? '');
    expect(checks()).toBe(4);

    const none = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [issuer.issuer], certsUrl: issuer.certsUrl, verifiedTokenCacheSize: 0 });
    await none.verify(tokens[0] ?? '');
    await none.verify(tokens[0] ?? '');
    expect(checks()).toBe(6);
  });

  it('refuses a cache size that is not a whole number of tokens', () => {
    const base = { audiences: [AUDIENCE], issuers: [issuer.issuer], certsUrl: issuer.certsUrl };
    expect(() => createIdTokenVerifier({ ...base, verifiedTokenCacheSize: -1 })).toThrow(TypeError);
    expect(() => createIdTokenVerifier({ ...base, verifiedTokenCacheSize: 1.5 })).toThrow(TypeError);
  });
});
