// A local stand-in for Google's ID-token issuer: mints RS256 tokens for any service account with jose and serves its
// key as a JWK set, as Google does.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdir, link, readFile, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { type Clock, systemClock } from '../shared/time/clock.js';
import { recordJwt } from './leak-ledger/leak-recorder.js';

/**
 * The `iss` of tokens signed with persisted keys (the local stack and `npm run local:id-token`).
 * A constant, not the server's URL, because the server's port may change between runs while tokens
 * minted by the command must keep verifying; `.invalid` (RFC 6761) can never resolve, and it is not
 * accounts.google.com, so a local token can never pass for a Google one.
 */
export const LOCAL_ID_TOKEN_ISSUER = 'https://local-id-token-issuer.oauth-broker.invalid';

/** Where the local stack and the `local:id-token` command keep the issuer's key (git-ignored). */
export function localIssuerDataDir(repoRoot: string): string {
  return join(repoRoot, '.local', 'id-token-issuer');
}

/** Google's ID tokens live one hour. */
export const DEFAULT_ID_TOKEN_LIFETIME_SECONDS = 3600;

// Google's key endpoints answer with a max-age of hours; locally a regenerated key should show up fast.
const KEYS_MAX_AGE_SECONDS = 300;
const KEY_FILE = 'signing-key.json';

export interface MintIdTokenOptions {
  readonly email: string;
  readonly audience: string;
  readonly expiresInSeconds?: number;
  /** Defaults to the issuer's clock. */
  readonly issuedAt?: Date;
  /** Added to (or replacing) the standard claims; a claim set to `undefined` is left out. */
  readonly extraClaims?: Readonly<Record<string, unknown>>;
}

export interface IdTokenSigner {
  /** The `iss` claim of every token this signer mints. */
  readonly issuer: string;
  readonly kid: string;
  mint(options: MintIdTokenOptions): Promise<string>;
  /** The JWK set, shaped as `https://www.googleapis.com/oauth2/v3/certs` serves it. */
  jwks(): { keys: Record<string, unknown>[] };
}

export interface IdTokenSignerOptions {
  /** Keep the key here (created if missing) so tokens outlive restarts; in memory when absent. */
  readonly dataDir?: string;
  /** Defaults to {@link LOCAL_ID_TOKEN_ISSUER}. */
  readonly issuer?: string;
  readonly clock?: Clock;
}

// Key files written before the issuer published a JWK set also hold a certificate: it is ignored, the key kept.
const storedKeySchema = z.object({
  version: z.literal(1),
  privateKeyPem: z.string().startsWith('-----BEGIN PRIVATE KEY-----'),
});
type StoredKey = z.infer<typeof storedKeySchema>;

function newStoredKey(): StoredKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { version: 1, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

async function readStoredKey(path: string): Promise<StoredKey | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = storedKeySchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path} is not a signing key this issuer wrote; delete it to start afresh`);
  return parsed.data;
}

// Write-then-link makes creation atomic: the command and the local stack may race to create the key.
async function loadOrCreateStoredKey(dataDir: string): Promise<StoredKey> {
  const path = join(dataDir, KEY_FILE);
  const existing = await readStoredKey(path);
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const temporary = join(dataDir, `.${KEY_FILE}.${randomUUID()}`);
  await writeFile(temporary, `${JSON.stringify(newStoredKey(), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temporary);
  }
  const stored = await readStoredKey(path);
  if (!stored) throw new Error(`${path} vanished while it was being created`);
  return stored;
}

/** Google's service-account `sub` is a 21-digit number; derive a stable one from the email. */
function numericSubject(email: string): string {
  const digest = BigInt(`0x${createHash('sha256').update(email).digest('hex').slice(0, 16)}`);
  return `1${(digest % 10n ** 20n).toString().padStart(20, '0')}`;
}

export async function createIdTokenSigner(options: IdTokenSignerOptions = {}): Promise<IdTokenSigner> {
  const clock = options.clock ?? systemClock;
  const issuer = options.issuer ?? LOCAL_ID_TOKEN_ISSUER;
  const stored = options.dataDir ? await loadOrCreateStoredKey(options.dataDir) : newStoredKey();
  const privateKey = createPrivateKey(stored.privateKeyPem);
  const publicKey = createPublicKey(privateKey);
  // Like Google's, the kid is a 40-hex-digit fingerprint of the key.
  const kid = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 40);
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };

  return {
    issuer,
    kid,
    async mint(mint) {
      if (!mint.email) throw new TypeError('mint needs an email');
      if (!mint.audience) throw new TypeError('mint needs an audience');
      const lifetime = mint.expiresInSeconds ?? DEFAULT_ID_TOKEN_LIFETIME_SECONDS;
      if (!Number.isInteger(lifetime)) throw new TypeError('expiresInSeconds must be an integer');
      const iat = Math.floor((mint.issuedAt?.getTime() ?? clock.nowMs()) / 1000);
      const subject = numericSubject(mint.email);
      const claims = {
        iss: issuer,
        aud: mint.audience,
        azp: subject,
        sub: subject,
        email: mint.email,
        email_verified: true,
        iat,
        exp: iat + lifetime,
        ...mint.extraClaims,
      };
      // The claims go in whole rather than through jose's setters: `extraClaims` may replace a standard claim with a
      // value of the wrong type or drop it, which the setters would refuse, and tests need exactly those tokens.
      const idToken = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey);
      recordJwt('id_token_issuer:id_token', idToken);
      return idToken;
    },
    jwks: () => ({ keys: [{ ...jwk }] }),
  };
}

export interface IdTokenIssuer extends IdTokenSigner {
  /** Base URL of the key server, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** What `ID_TOKEN_JWKS_URL` should be. */
  readonly jwksUrl: string;
  /** How often the JWK set was served, so tests can assert a verifier's key caching. */
  requestCounts(): { jwks: number };
  stop(): Promise<void>;
}

export interface StartIdTokenIssuerOptions {
  readonly dataDir?: string;
  /** 0 or absent: any free port. */
  readonly port?: number;
  /**
   * Defaults to the server's own URL for an in-memory issuer (each test issuer is distinct) and to
   * {@link LOCAL_ID_TOKEN_ISSUER} with a `dataDir` (stable across restarts and ports).
   */
  readonly issuer?: string;
  readonly clock?: Clock;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startIdTokenIssuer(options: StartIdTokenIssuerOptions = {}): Promise<IdTokenIssuer> {
  const counts = { jwks: 0 };
  let signer: IdTokenSigner | undefined;
  let url = '';

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, {
        'content-type': 'application/json; charset=UTF-8',
        'cache-control': status === 200 ? `public, max-age=${KEYS_MAX_AGE_SECONDS}` : 'no-store',
      });
      response.end(JSON.stringify(body));
    };
    if (!signer) return send(503, { error: 'starting' });
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, { error: 'method_not_allowed' });
    if (path === '/oauth2/v3/certs') {
      counts.jwks += 1;
      return send(200, signer.jwks());
    }
    if (path === '/.well-known/openid-configuration') {
      return send(200, {
        issuer: signer.issuer,
        jwks_uri: `${url}/oauth2/v3/certs`,
        id_token_signing_alg_values_supported: ['RS256'],
        subject_types_supported: ['public'],
        response_types_supported: ['id_token'],
        claims_supported: ['aud', 'azp', 'email', 'email_verified', 'exp', 'iat', 'iss', 'sub'],
      });
    }
    return send(404, { error: 'not_found' });
  });

  const port = await listen(server, options.port ?? 0);
  url = `http://127.0.0.1:${port}`;
  try {
    signer = await createIdTokenSigner({
      issuer: options.issuer ?? (options.dataDir ? LOCAL_ID_TOKEN_ISSUER : url),
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  } catch (error) {
    server.close();
    throw error;
  }
  const ready = signer;

  return {
    issuer: ready.issuer,
    kid: ready.kid,
    mint: (mint) => ready.mint(mint),
    jwks: () => ready.jwks(),
    url,
    jwksUrl: `${url}/oauth2/v3/certs`,
    requestCounts: () => ({ ...counts }),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
