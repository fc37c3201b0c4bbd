// Builds a self-signed X.509 certificate (DER by hand), because node:crypto can read certificates but not make them.
import { type KeyObject, randomBytes, sign } from 'node:crypto';

export interface SelfSignedCertificateOptions {
  /** An RSA key pair: the certificate carries the public half and is signed with the private half. */
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly commonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const SHA256_WITH_RSA_ENCRYPTION = '1.2.840.113549.1.1.11';
const COMMON_NAME = '2.5.4.3';

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const sequence = (...items: Buffer[]): Buffer => der(0x30, Buffer.concat(items));

function positiveInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const trimmed = bytes.subarray(start);
  // A set high bit would make the DER integer negative.
  return der(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function objectIdentifier(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let value = arc; ; value = Math.floor(value / 128)) {
      groups.unshift((value % 128) | (groups.length > 0 ? 0x80 : 0));
      if (value < 128) break;
    }
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
function time(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  return year < 2050 ? der(0x17, Buffer.from(digits.slice(2), 'ascii')) : der(0x18, Buffer.from(digits, 'ascii'));
}

function name(commonName: string): Buffer {
  return sequence(der(0x31, sequence(objectIdentifier(COMMON_NAME), der(0x0c, Buffer.from(commonName, 'utf8')))));
}

/** Returns the certificate as PEM, the shape of the values in Google's `oauth2/v1/certs` map. */
export function createSelfSignedCertificate(options: SelfSignedCertificateOptions): string {
  if (options.privateKey.asymmetricKeyType !== 'rsa' || options.publicKey.asymmetricKeyType !== 'rsa') {
    throw new TypeError('createSelfSignedCertificate needs an RSA key pair');
  }
  if (!(options.notBefore < options.notAfter)) throw new TypeError('notBefore must be before notAfter');
  const algorithm = sequence(objectIdentifier(SHA256_WITH_RSA_ENCRYPTION), der(0x05, Buffer.alloc(0)));
  const subjectPublicKeyInfo = options.publicKey.export({ type: 'spki', format: 'der' });
  const toBeSigned = sequence(
    der(0xa0, positiveInteger(Buffer.from([2]))), // [0] EXPLICIT version: v3
    positiveInteger(randomBytes(16)),
    algorithm,
    name(options.commonName),
    sequence(time(options.notBefore), time(options.notAfter)),
    name(options.commonName),
    subjectPublicKeyInfo,
  );
  const signature = sign('sha256', toBeSigned, options.privateKey);
  const certificate = sequence(toBeSigned, algorithm, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = certificate.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
