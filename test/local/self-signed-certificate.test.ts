import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from '../../local/self-signed-certificate.js';

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('createSelfSignedCertificate', () => {
  it('makes a certificate node:crypto accepts, signed by its own key, with the requested name and validity', () => {
    const { privateKey, publicKey } = rsa();
    const notBefore = new Date('2026-01-02T03:04:05Z');
    const notAfter = new Date('2036-01-02T03:04:05Z');
    const pem = createSelfSignedCertificate({ privateKey, publicKey, commonName: 'issuer.example.invalid', notBefore, notAfter });
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
    const certificate = new X509Certificate(pem);
    expect(certificate.subject).toBe('CN=issuer.example.invalid');
    expect(certificate.issuer).toBe('CN=issuer.example.invalid');
    expect(new Date(certificate.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(certificate.validTo).toISOString()).toBe(notAfter.toISOString());
    expect(certificate.publicKey.equals(publicKey)).toBe(true);
    expect(certificate.verify(publicKey)).toBe(true);
    expect(certificate.verify(rsa().publicKey)).toBe(false);
  });

  it('switches to GeneralizedTime from 2050, as RFC 5280 requires', () => {
    const { privateKey, publicKey } = rsa();
    const notAfter = new Date('2061-07-08T09:10:11Z');
    const pem = createSelfSignedCertificate({
      privateKey,
      publicKey,
      commonName: 'long-lived',
      notBefore: new Date('2049-12-31T23:59:59Z'),
      notAfter,
    });
    const certificate = new X509Certificate(pem);
    expect(new Date(certificate.validTo).toISOString()).toBe(notAfter.toISOString());
    expect(new Date(certificate.validFrom).toISOString()).toBe('2049-12-31T23:59:59.000Z');
  });

  it('refuses keys it cannot sign for and inverted validity', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const window = { notBefore: new Date(0), notAfter: new Date(1000) };
    expect(() => createSelfSignedCertificate({ privateKey, publicKey, commonName: 'x', ...window })).toThrow(TypeError);
    const pair = rsa();
    expect(() =>
      createSelfSignedCertificate({ ...pair, commonName: 'x', notBefore: new Date(1000), notAfter: new Date(0) }),
    ).toThrow(TypeError);
  });
});
