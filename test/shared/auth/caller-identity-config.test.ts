// The ID_TOKEN_ variables of loadConfig, and that production and local settings run the same verifier.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdTokenVerifier } from '../../../shared/auth/id-token-verifier.js';
import { loadConfig } from '../../../shared/config/config.js';
import { BrokerError } from '../../../shared/errors/broker-error.js';
import { type IdTokenIssuer, startIdTokenIssuer } from '../../../local/id-token-issuer.js';

const base = { GOOGLE_CLOUD_PROJECT: 'acme-prod' };

function configError(env: Record<string, string>): BrokerError {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    return error as BrokerError;
  }
  throw new Error('expected loadConfig to refuse the environment');
}

let issuer: IdTokenIssuer;
beforeAll(async () => {
  issuer = await startIdTokenIssuer();
});
afterAll(() => issuer.stop());

describe('caller identity configuration', () => {
  it("defaults to Google's issuers and JWK set, with no audiences until set", () => {
    const config = loadConfig(base);
    expect(config.callerIdentity).toEqual({
      audiences: [],
      issuers: ['https://accounts.google.com', 'accounts.google.com'],
      jwksUrl: 'https://www.googleapis.com/oauth2/v3/certs',
    });
    expect(Object.isFrozen(config.callerIdentity.issuers)).toBe(true);
    // A function that authenticates callers refuses to start without an audience.
    expect(() => createIdTokenVerifier(config.callerIdentity)).toThrow(/ID_TOKEN_AUDIENCES/);
  });

  it('parses a comma-separated audience list', () => {
    const config = loadConfig({ ...base, ID_TOKEN_AUDIENCES: ' https://token-x.a.run.app , https://broker.acme.example ' });
    expect(config.callerIdentity.audiences).toEqual(['https://token-x.a.run.app', 'https://broker.acme.example']);
    expect(configError({ ID_TOKEN_AUDIENCES: 'https://a.example,,https://b.example' }).details?.variables).toEqual([
      'ID_TOKEN_AUDIENCES',
    ]);
  });

  it('runs the same verifier against the local issuer when ID_TOKEN_ISSUER and ID_TOKEN_JWKS_URL name it', async () => {
    const config = loadConfig({
      ...base,
      ID_TOKEN_AUDIENCES: 'http://127.0.0.1:8080',
      ID_TOKEN_ISSUER: issuer.issuer,
      ID_TOKEN_JWKS_URL: issuer.jwksUrl,
    });
    expect(config.callerIdentity.issuers).toEqual([issuer.issuer]);
    const verifier = createIdTokenVerifier(config.callerIdentity);
    const token = await issuer.mint({ email: 'svc@acme-dev.iam.gserviceaccount.com', audience: 'http://127.0.0.1:8080' });
    await expect(verifier.verify(token)).resolves.toMatchObject({ email: 'svc@acme-dev.iam.gserviceaccount.com' });
    // ...and a production-configured verifier does not take the local token for a Google one.
    const production = loadConfig({ ...base, ID_TOKEN_AUDIENCES: 'http://127.0.0.1:8080' });
    expect(production.callerIdentity.issuers).not.toContain(issuer.issuer);
  });

  it('only fetches keys over https, or plain http on loopback', () => {
    for (const url of ['http://keys.example.com/certs', 'ftp://127.0.0.1/certs', 'not a url']) {
      expect(configError({ ID_TOKEN_ISSUER: 'https://issuer.example', ID_TOKEN_JWKS_URL: url }).details?.variables).toEqual([
        'ID_TOKEN_JWKS_URL',
      ]);
    }
    for (const url of ['https://keys.example.com/certs', 'http://localhost:9/certs', 'http://[::1]:9/certs']) {
      expect(loadConfig({ ...base, ID_TOKEN_ISSUER: 'https://issuer.example', ID_TOKEN_JWKS_URL: url }).callerIdentity.jwksUrl).toBe(url);
    }
  });

  it('wants the issuer and its keys together, and never a local key for a Google issuer', () => {
    expect(configError({ ID_TOKEN_ISSUER: 'https://issuer.example' }).details?.variables).toEqual(['ID_TOKEN_JWKS_URL']);
    expect(configError({ ID_TOKEN_JWKS_URL: 'http://127.0.0.1:9/certs' }).details?.variables).toEqual(['ID_TOKEN_ISSUER']);
    expect(
      configError({ ID_TOKEN_ISSUER: 'https://accounts.google.com', ID_TOKEN_JWKS_URL: 'http://127.0.0.1:9/certs' }).details
        ?.variables,
    ).toEqual(['ID_TOKEN_ISSUER']);
  });
});
