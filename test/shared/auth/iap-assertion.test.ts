// The IAP assertion verifier against a local ES256 signer: what it accepts, what it refuses, and how it fetches keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IAP_ISSUER } from '../../../shared/config/config.js';
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import type { IapAssertionRejection } from '../../../shared/auth/iap-assertion.js';
import { createIapAssertionVerifier } from '../../../shared/auth/iap-assertion.js';
import { ManualClock } from '../../../shared/time/clock.js';
import { type IapIssuer, startIapIssuer } from '../../../local/iap-issuer.js';

const AUDIENCE = '/projects/123456789012/apps/acme-broker';
let iap: IapIssuer;
beforeAll(async () => {
  iap = await startIapIssuer();
});
afterAll(async () => {
  await iap.stop();
});

const verifier = (clock = new ManualClock(Date.now())) =>
  createIapAssertionVerifier({ audience: AUDIENCE, issuer: IAP_ISSUER, publicKeysUrl: iap.jwksUrl, clock });

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(isBrokerError(error, 'unauthenticated')).toBe(true);
  return ((error as Error).cause as IapAssertionRejection).code;
}

describe('IAP assertions', () => {
  it('accepts an ES256 assertion from IAP for exactly this audience, naming the signed-in user', async () => {
    await expect(verifier().verify(await iap.mint({ email: 'ops@example.com', audience: AUDIENCE }))).resolves.toMatchObject({ email: 'ops@example.com' });
  });

  it('refuses each way an assertion can be wrong, with the reason kept for the logs only', async () => {
    const v = verifier();
    const mint = (extra: Parameters<IapIssuer['mint']>[0]) => iap.mint(extra);
    expect(await reason(v.verify(await mint({ email: 'a@example.com', audience: AUDIENCE, forged: true })))).toBe('bad_signature');
    expect(await reason(v.verify(await mint({ email: 'a@example.com', audience: `${AUDIENCE}x` })))).toBe('wrong_audience');
    expect(await reason(v.verify(await mint({ email: 'a@example.com', audience: AUDIENCE, issuer: 'https://accounts.google.com' })))).toBe('wrong_issuer');
    expect(await reason(v.verify(await mint({ email: 'a@example.com', audience: AUDIENCE, alg: 'RS256' })))).toBe('unsupported_algorithm');
    expect(await reason(v.verify(await mint({ email: 'a@example.com', audience: AUDIENCE, expiresInSeconds: 3600 })))).toBe('lifetime_too_long');
    expect(await reason(v.verify(await mint({ email: 'a@example.com', audience: AUDIENCE, extraClaims: { email: undefined } })))).toBe('email_missing');
    expect(await reason(v.verify('a.b'))).toBe('malformed_assertion');
  });

  it('checks expiry with its own clock and a small skew', async () => {
    const clock = new ManualClock(Date.now());
    const v = verifier(clock);
    const assertion = await iap.mint({ email: 'a@example.com', audience: AUDIENCE });
    clock.advance(600_000 + 31_000);
    expect(await reason(v.verify(assertion))).toBe('expired');
  });

  it('fetches the keys once and shares them, rather than on every request as the library would', async () => {
    const v = verifier();
    const before = iap.keyFetches();
    const assertions = await Promise.all(Array.from({ length: 5 }, () => iap.mint({ email: 'a@example.com', audience: AUDIENCE })));
    await Promise.all(assertions.map((assertion) => v.verify(assertion)));
    await v.verify(await iap.mint({ email: 'a@example.com', audience: AUDIENCE }));
    expect(iap.keyFetches() - before).toBe(1);
  });

  it('reports unreachable keys as a retryable outage, not as a bad assertion', async () => {
    const v = createIapAssertionVerifier({ audience: AUDIENCE, issuer: IAP_ISSUER, publicKeysUrl: 'http://127.0.0.1:9/none' });
    const error = await v.verify(await iap.mint({ email: 'a@example.com', audience: AUDIENCE })).catch((caught: unknown) => caught);
    expect(isBrokerError(error, 'identity_unavailable')).toBe(true);
  });

  it('refuses to be built for an audience IAP never issues', () => {
    expect(() => createIapAssertionVerifier({ audience: 'https://admin.example.com', issuer: IAP_ISSUER, publicKeysUrl: iap.jwksUrl })).toThrow(TypeError);
  });
});
