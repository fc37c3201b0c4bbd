import { createPublicKey, type JsonWebKey, verify } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { createIdTokenVerifier } from '../../shared/auth/id-token-verifier.js';
import { ManualClock } from '../../shared/time/clock.js';
import {
  createIdTokenSigner,
  LOCAL_ID_TOKEN_ISSUER,
  localIssuerDataDir,
  startIdTokenIssuer,
} from '../../local/id-token-issuer.js';

const EMAIL = 'writer@acme-dev.iam.gserviceaccount.com';
const AUDIENCE = 'http://127.0.0.1:8080';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'id-token-issuer-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

function parts(token: string): { header: Record<string, unknown>; claims: Record<string, unknown>; signed: string; signature: Buffer } {
  const [header = '', payload = '', signature = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(payload, 'base64url').toString()),
    signed: `${header}.${payload}`,
    signature: Buffer.from(signature, 'base64url'),
  };
}

describe('startIdTokenIssuer', () => {
  it('mints Google-shaped RS256 tokens that verify against the JWK set it serves', async () => {
    const issuer = await startIdTokenIssuer();
    try {
      const token = await issuer.mint({ email: EMAIL, audience: AUDIENCE });
      const { header, claims, signed, signature } = parts(token);
      expect(header).toEqual({ alg: 'RS256', kid: issuer.kid, typ: 'JWT' });
      expect(issuer.kid).toMatch(/^[0-9a-f]{40}$/);
      expect(claims).toEqual({
        iss: issuer.url,
        aud: AUDIENCE,
        azp: claims.sub,
        sub: expect.stringMatching(/^1\d{20}$/),
        email: EMAIL,
        email_verified: true,
        iat: expect.any(Number),
        exp: (claims.iat as number) + 3600,
      });
      expect(Math.abs((claims.iat as number) - Date.now() / 1000)).toBeLessThan(5);

      const response = await fetch(issuer.jwksUrl);
      expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
      const jwks = (await response.json()) as { keys: (JsonWebKey & { kid: string })[] };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: issuer.kid, e: 'AQAB' });
      expect(jwks.keys[0]).not.toHaveProperty('d');
      const jwkKey = createPublicKey({ key: jwks.keys[0] as JsonWebKey, format: 'jwk' });
      expect(verify('sha256', Buffer.from(signed), jwkKey, signature)).toBe(true);
      // And as any JOSE library reads it: jose finds the key by kid and checks the signature.
      await expect(jwtVerify(token, createLocalJWKSet(jwks as JSONWebKeySet), { algorithms: ['RS256'] })).resolves.toMatchObject({ payload: { email: EMAIL } });

      expect(issuer.requestCounts()).toEqual({ jwks: 1 });
      expect((await fetch(`${issuer.url}/nope`)).status).toBe(404);
      const discovery = (await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(discovery).toMatchObject({ issuer: issuer.issuer, jwks_uri: issuer.jwksUrl });
    } finally {
      await issuer.stop();
    }
  });

  it('honours lifetime, issue time, extra claims and claim removal', async () => {
    const signer = await createIdTokenSigner({ clock: new ManualClock(Date.UTC(2031, 4, 6)) });
    const fromClock = parts(await signer.mint({ email: EMAIL, audience: AUDIENCE, expiresInSeconds: 60 })).claims;
    expect(fromClock).toMatchObject({ iat: Date.UTC(2031, 4, 6) / 1000, exp: Date.UTC(2031, 4, 6) / 1000 + 60 });
    const custom = parts(
      await signer.mint({
        email: EMAIL,
        audience: AUDIENCE,
        issuedAt: new Date('2030-01-01T00:00:00Z'),
        extraClaims: { email_verified: false, email: undefined, google: { compute_engine: {} } },
      }),
    ).claims;
    expect(custom.iat).toBe(Date.UTC(2030, 0, 1) / 1000);
    expect(custom.email_verified).toBe(false);
    expect(custom).not.toHaveProperty('email');
    expect(custom.google).toEqual({ compute_engine: {} });
    expect(signer.issuer).toBe(LOCAL_ID_TOKEN_ISSUER);
    await expect(signer.mint({ email: '', audience: AUDIENCE })).rejects.toThrow(TypeError);
    await expect(signer.mint({ email: EMAIL, audience: AUDIENCE, expiresInSeconds: 1.5 })).rejects.toThrow(TypeError);
  });

  it('gives two in-memory issuers different keys and different issuer identifiers', async () => {
    const [one, two] = await Promise.all([startIdTokenIssuer(), startIdTokenIssuer()]);
    try {
      expect(one.kid).not.toBe(two.kid);
      expect(one.issuer).not.toBe(two.issuer);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  });

  it('keeps its key under dataDir, so a token minted before a restart still verifies after it', async () => {
    const first = await startIdTokenIssuer({ dataDir });
    const token = await first.mint({ email: EMAIL, audience: AUDIENCE });
    const kid = first.kid;
    expect(first.issuer).toBe(LOCAL_ID_TOKEN_ISSUER);
    await first.stop();

    const second = await startIdTokenIssuer({ dataDir });
    try {
      expect(second.kid).toBe(kid);
      expect(second.issuer).toBe(LOCAL_ID_TOKEN_ISSUER);
      const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [second.issuer], jwksUrl: second.jwksUrl });
      await expect(verifier.verify(token)).resolves.toMatchObject({ email: EMAIL, issuer: LOCAL_ID_TOKEN_ISSUER });
    } finally {
      await second.stop();
    }
    const files = await readdir(dataDir);
    expect(files).toEqual(['signing-key.json']);
    expect((await stat(join(dataDir, 'signing-key.json'))).mode & 0o077).toBe(0);
  });

  it('creates exactly one key when several processes start on an empty directory at once', async () => {
    const signers = await Promise.all(Array.from({ length: 6 }, () => createIdTokenSigner({ dataDir })));
    expect(new Set(signers.map((signer) => signer.kid)).size).toBe(1);
    expect(await readdir(dataDir)).toEqual(['signing-key.json']);
  });

  it('refuses a key file it did not write, naming the file', async () => {
    await writeFile(join(dataDir, 'signing-key.json'), JSON.stringify({ version: 1, privateKeyPem: 'nope' }));
    await expect(createIdTokenSigner({ dataDir })).rejects.toThrow(/signing-key\.json/);
    expect(await readFile(join(dataDir, 'signing-key.json'), 'utf8')).toContain('nope');
  });

  it('puts the local stack key under the git-ignored .local folder', async () => {
    expect(localIssuerDataDir('/repo')).toBe(join('/repo', '.local', 'id-token-issuer'));
    const gitignore = await readFile(new URL('../../.gitignore', import.meta.url), 'utf8');
    expect(gitignore.split('\n')).toContain('.local/');
  });
});
