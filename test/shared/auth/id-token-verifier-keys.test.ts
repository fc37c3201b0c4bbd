// How the ID-token verifier keeps the issuer's JWK set: fetched once and shared, fetched anew when a token names a key
// it does not hold or the set is ten minutes old, a withdrawn key's tokens refused once the set is fetched anew, and a
// key set that cannot be had answered as an outage.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createIdTokenVerifier } from '../../../shared/auth/id-token-verifier.js';
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import { createIdTokenSigner, type IdTokenSigner } from '../../../local/id-token-issuer.js';
import { caught, expectRefusedWithoutLeak } from './token-leak.js';

const AUDIENCE = 'https://token-abc123-uc.a.run.app';
const CALLER = 'reader@acme-prod.iam.gserviceaccount.com';
const ISSUER = 'https://rotating-issuer.test';

afterEach(() => {
  vi.useRealTimers();
});

type KeyAnswer = { status: number; body: unknown };

/** A key server whose answer can be swapped, like Google's during a rotation; it counts the fetches. */
async function startKeyServer(initial: IdTokenSigner) {
  let answer: () => KeyAnswer = () => ({ status: 200, body: initial.jwks() });
  let fetches = 0;
  const server: Server = createServer((_request, response) => {
    fetches += 1;
    const { status, body } = answer();
    response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/v3/certs`,
    fetches: () => fetches,
    serve: (signer: IdTokenSigner) => {
      answer = () => ({ status: 200, body: signer.jwks() });
    },
    answer: (fixed: KeyAnswer) => {
      answer = () => fixed;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the ID-token verifier’s keys', () => {
  it('picks up a new key when a token names it, and refuses the withdrawn key’s tokens from then on', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const [oldKey, newKey] = await Promise.all([createIdTokenSigner({ issuer: ISSUER }), createIdTokenSigner({ issuer: ISSUER })]);
    const keys = await startKeyServer(oldKey);
    try {
      const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [ISSUER], jwksUrl: keys.jwksUrl });
      const signedWithOld = await oldKey.mint({ email: CALLER, audience: AUDIENCE });
      await expect(verifier.verify(signedWithOld)).resolves.toMatchObject({ email: CALLER });
      await expect(verifier.verify(signedWithOld)).resolves.toMatchObject({ email: CALLER });
      expect(keys.fetches()).toBe(1);
      keys.serve(newKey);
      // An unknown kid sends the verifier back to the key set, though not more often than every 30 seconds.
      vi.setSystemTime(Date.now() + 31_000);
      const signedWithNew = await newKey.mint({ email: CALLER, audience: AUDIENCE });
      await expect(verifier.verify(signedWithNew)).resolves.toMatchObject({ email: CALLER });
      expect(keys.fetches()).toBe(2);
      expectRefusedWithoutLeak(await caught(() => verifier.verify(signedWithOld)), 'unknown_key', signedWithOld);
      expect(keys.fetches()).toBe(2);
    } finally {
      await keys.stop();
    }
  });

  it('fetches the key set again once it is ten minutes old', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const signer = await createIdTokenSigner({ issuer: ISSUER });
    const keys = await startKeyServer(signer);
    try {
      const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [ISSUER], jwksUrl: keys.jwksUrl });
      await verifier.verify(await signer.mint({ email: CALLER, audience: AUDIENCE }));
      vi.setSystemTime(Date.now() + 599_000);
      await verifier.verify(await signer.mint({ email: CALLER, audience: AUDIENCE }));
      expect(keys.fetches()).toBe(1);
      vi.setSystemTime(Date.now() + 2_000);
      await verifier.verify(await signer.mint({ email: CALLER, audience: AUDIENCE }));
      expect(keys.fetches()).toBe(2);
    } finally {
      await keys.stop();
    }
  });

  it('judges a token it has seen before by the key set as it stands: withdrawn key or stale set, no shortcut', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const signer = await createIdTokenSigner({ issuer: ISSUER });
    const keys = await startKeyServer(signer);
    try {
      // A clock that follows the faked Date, so the token stays unexpired while the key set ages.
      const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [ISSUER], jwksUrl: keys.jwksUrl });
      const token = await signer.mint({ email: CALLER, audience: AUDIENCE });
      await expect(verifier.verify(token)).resolves.toMatchObject({ email: CALLER });
      // Ten minutes on, the remembered verification is not used: the set is fetched again, and its outage shows.
      keys.answer({ status: 500, body: { error: 'backend' } });
      vi.setSystemTime(Date.now() + 601_000);
      expect(isBrokerError(await caught(() => verifier.verify(token)), 'identity_unavailable')).toBe(true);
      expect(keys.fetches()).toBe(2);
    } finally {
      await keys.stop();
    }
  });

  it.each([
    ['answers 500', { status: 500, body: { error: 'backend' } }],
    ['answers something that is not a key set', { status: 200, body: { keys: 'none' } }],
  ])('answers identity_unavailable, not unauthenticated, when the key server %s', async (_case, answer) => {
    const signer = await createIdTokenSigner({ issuer: ISSUER });
    const keys = await startKeyServer(signer);
    try {
      keys.answer(answer);
      const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [ISSUER], jwksUrl: keys.jwksUrl });
      const token = await signer.mint({ email: CALLER, audience: AUDIENCE });
      const error = await caught(() => verifier.verify(token));
      expect(isBrokerError(error, 'identity_unavailable')).toBe(true);
    } finally {
      await keys.stop();
    }
  });
});
