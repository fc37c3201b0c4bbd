// Parsing of Cloud KMS resource names (projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V).
import { status } from '@grpc/grpc-js';
import { KmsStatusError } from './kms-status-error.js';

const ID = '[a-zA-Z0-9_-]{1,63}';
const SEGMENT = '[^/]+';
const locationPattern = new RegExp(`^projects/${SEGMENT}/locations/${SEGMENT}$`);
const keyRingPattern = new RegExp(`^projects/${SEGMENT}/locations/${SEGMENT}/keyRings/${SEGMENT}$`);
const cryptoKeyPattern = new RegExp(`^(projects/${SEGMENT}/locations/${SEGMENT}/keyRings/${SEGMENT})/cryptoKeys/${SEGMENT}$`);
const versionPattern = new RegExp(`^(projects/${SEGMENT}/locations/${SEGMENT}/keyRings/${SEGMENT}/cryptoKeys/${SEGMENT})/cryptoKeyVersions/([1-9]\\d{0,9})$`);
const idPattern = new RegExp(`^${ID}$`);

function invalid(kind: string, name: string): KmsStatusError {
  return new KmsStatusError(status.INVALID_ARGUMENT, `Resource name [${name}] does not represent a valid ${kind}.`);
}

export function requireLocation(name: string): string {
  if (!locationPattern.test(name)) throw invalid('Location', name);
  return name;
}

export function requireKeyRing(name: string): string {
  if (!keyRingPattern.test(name)) throw invalid('KeyRing', name);
  return name;
}

export function requireCryptoKey(name: string): string {
  if (!cryptoKeyPattern.test(name)) throw invalid('CryptoKey', name);
  return name;
}

export function parseCryptoKeyName(name: string): { keyRing: string } | undefined {
  const match = cryptoKeyPattern.exec(name);
  return match ? { keyRing: match[1]! } : undefined;
}

export function parseVersionName(name: string): { cryptoKey: string; versionId: number } | undefined {
  const match = versionPattern.exec(name);
  return match ? { cryptoKey: match[1]!, versionId: Number(match[2]) } : undefined;
}

export function requireVersion(name: string): { cryptoKey: string; versionId: number } {
  const parsed = parseVersionName(name);
  if (!parsed) throw invalid('CryptoKeyVersion', name);
  return parsed;
}

export function requireId(field: string, id: string): string {
  if (!idPattern.test(id)) {
    throw new KmsStatusError(status.INVALID_ARGUMENT, `${field} must match the regular expression ${ID}.`);
  }
  return id;
}
