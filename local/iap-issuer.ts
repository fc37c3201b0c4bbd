// A local stand-in for Identity-Aware Proxy's signer: mints ES256 `X-Goog-IAP-JWT-Assertion` values with jose and
// serves its public key as a JWK set, the way https://www.gstatic.com/iap/verify/public_key-jwk does.
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { IAP_ISSUER } from '../shared/config/config.js';
import { recordJwt } from './leak-ledger/leak-recorder.js';

export interface MintIapAssertionOptions {
  readonly email: string;
  readonly audience: string;
  readonly issuer?: string;
  readonly expiresInSeconds?: number;
  readonly issuedAt?: Date;
  /** Added to (or replacing) the standard claims; a claim set to `undefined` is left out. */
  readonly extraClaims?: Readonly<Record<string, unknown>>;
  /** Sign with a key the JWK set does not publish (a forgery), under the published kid. */
  readonly forged?: boolean;
  /** Name this algorithm in the header instead of ES256 (an algorithm-confusion probe); the signature stays ES256. */
  readonly alg?: string;
}

export interface IapIssuer {
  readonly url: string;
  /** What IAP_JWKS_URL should be. */
  readonly jwksUrl: string;
  readonly kid: string;
  mint(options: MintIapAssertionOptions): Promise<string>;
  /** How often the JWK set was fetched, for cache assertions. */
  keyFetches(): number;
  stop(): Promise<void>;
}

/** IAP's assertions live ten minutes. */
const IAP_ASSERTION_LIFETIME_SECONDS = 600;

const encode = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/**
 * jose signs only under an alg its key serves, so a header naming another is swapped in after signing. The ES256
 * signature then covers the original header; a verifier must refuse the alg before it ever checks a signature.
 */
function withHeaderAlg(token: string, alg: string, kid: string): string {
  const [, payload, signature] = token.split('.');
  return `${encode({ alg, kid, typ: 'JWT' })}.${payload}.${signature}`;
}

function ecKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export async function startIapIssuer(): Promise<IapIssuer> {
  const { privateKey, publicKey } = ecKeyPair();
  const foreign = ecKeyPair().privateKey;
  // IAP's kids are short opaque strings; any stable one will do.
  const kid = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 6);
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }] };
  let fetches = 0;

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (request.method === 'GET' && path === '/iap/verify/public_key-jwk') {
      fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
      response.end(JSON.stringify(jwks));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    jwksUrl: `${url}/iap/verify/public_key-jwk`,
    kid,
    async mint(options) {
      const iat = Math.floor((options.issuedAt?.getTime() ?? Date.now()) / 1000);
      const claims = {
        iss: options.issuer ?? IAP_ISSUER,
        aud: options.audience,
        sub: `accounts.google.com:${createHash('sha256').update(options.email).digest('hex').slice(0, 21)}`,
        email: options.email,
        iat,
        exp: iat + (options.expiresInSeconds ?? IAP_ASSERTION_LIFETIME_SECONDS),
        ...options.extraClaims,
      };
      const signed = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .sign(options.forged ? foreign : privateKey);
      const assertion = options.alg === undefined ? signed : withHeaderAlg(signed, options.alg, kid);
      recordJwt('iap_issuer:assertion', assertion);
      return assertion;
    },
    keyFetches: () => fetches,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
