// The claim checks of a token Cloud Run stripped of its signature: every one the signature verifier makes, and Google's issuer only.
import { beforeAll, describe, expect, it } from 'vitest';
import { checkSignatureStrippedClaims, isSignatureStripped } from '../../../shared/auth/signature-stripped-token.js';
import { ManualClock } from '../../../shared/time/clock.js';
import { createIdTokenSigner, type IdTokenSigner } from '../../../local/id-token-issuer.js';
import { caught, expectRefusedWithoutLeak } from './token-leak.js';

const AUDIENCE = 'https://europe-west1-acme-prod.cloudfunctions.net/oauth-broker-refresh';
const SCHEDULER = 'oauth-broker-scheduler@acme-prod.iam.gserviceaccount.com';
const clock = new ManualClock(Date.UTC(2030, 0, 1));
let signer: IdTokenSigner;

beforeAll(async () => {
  signer = await createIdTokenSigner({ issuer: 'https://accounts.google.com', clock });
});

/** What Cloud Run hands the code after its IAM check of a Google-signed token. */
function stripped(token: string): string {
  return `${token.split('.').slice(0, 2).join('.')}.SIGNATURE_REMOVED_BY_GOOGLE`;
}

async function mint(options: Partial<Parameters<IdTokenSigner['mint']>[0]> = {}): Promise<string> {
  return stripped(await signer.mint({ email: SCHEDULER, audience: AUDIENCE, ...options }));
}

function check(token: string) {
  return checkSignatureStrippedClaims(token, { audiences: [AUDIENCE], clock });
}

async function expectRefused(token: string, reason: Parameters<typeof expectRefusedWithoutLeak>[1]): Promise<void> {
  expectRefusedWithoutLeak(await caught(async () => check(token)), reason, token);
}

describe('checkSignatureStrippedClaims', () => {
  it("accepts the scheduler's stripped token with Google's issuer in either spelling", async () => {
    expect(check(await mint())).toMatchObject({ email: SCHEDULER, audience: AUDIENCE, issuer: 'https://accounts.google.com' });
    expect(check(await mint({ extraClaims: { iss: 'accounts.google.com' } })).issuer).toBe('accounts.google.com');
  });

  it('tells stripped tokens from intact ones', async () => {
    expect(isSignatureStripped(await mint())).toBe(true);
    expect(isSignatureStripped(await signer.mint({ email: SCHEDULER, audience: AUDIENCE }))).toBe(false);
  });

  it('refuses an intact token: its signature is for the verifier to check, not to skip', async () => {
    await expectRefused(await signer.mint({ email: SCHEDULER, audience: AUDIENCE }), 'malformed_token');
  });

  it("refuses any issuer but Google's, since Cloud Run IAM accepts no other (the local issuer included)", async () => {
    await expectRefused(await mint({ extraClaims: { iss: 'https://local-id-token-issuer.oauth-broker.invalid' } }), 'wrong_issuer');
    await expectRefused(await mint({ extraClaims: { iss: 'https://accounts.google.com.evil.test' } }), 'wrong_issuer');
  });

  it('refuses another audience, an expired token, one from the future and one that lives too long', async () => {
    await expectRefused(await mint({ audience: 'https://europe-west1-acme-prod.cloudfunctions.net/oauth-broker-token' }), 'wrong_audience');
    await expectRefused(await mint({ issuedAt: new Date(clock.nowMs() - 3600_000 - 31_000) }), 'expired');
    await expectRefused(await mint({ issuedAt: new Date(clock.nowMs() + 31_000) }), 'not_yet_valid');
    await expectRefused(await mint({ expiresInSeconds: 3601 }), 'lifetime_too_long');
  });

  it('allows the same clock skew as the verifier, and no more', async () => {
    expect(check(await mint({ issuedAt: new Date(clock.nowMs() - 3600_000 - 29_000) })).email).toBe(SCHEDULER);
    expect(check(await mint({ issuedAt: new Date(clock.nowMs() + 29_000) })).email).toBe(SCHEDULER);
  });

  it('refuses an unverified or missing email', async () => {
    await expectRefused(await mint({ extraClaims: { email_verified: false } }), 'email_unverified');
    await expectRefused(await mint({ extraClaims: { email_verified: 'true' } }), 'email_unverified');
    await expectRefused(await mint({ extraClaims: { email: undefined } }), 'email_missing');
  });

  it('refuses a header claiming another algorithm, and garbage', async () => {
    const [, payload = ''] = (await mint()).split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'none', kid: signer.kid })).toString('base64url');
    await expectRefused(`${header}.${payload}.SIGNATURE_REMOVED_BY_GOOGLE`, 'unsupported_algorithm');
    await expectRefused(`${header}.bm90IGpzb24.SIGNATURE_REMOVED_BY_GOOGLE`, 'malformed_token');
    await expectRefused('a.b.c.SIGNATURE_REMOVED_BY_GOOGLE', 'malformed_token');
    await expectRefused(`x${'a'.repeat(9000)}.${payload}.SIGNATURE_REMOVED_BY_GOOGLE`, 'malformed_token');
  });
});
