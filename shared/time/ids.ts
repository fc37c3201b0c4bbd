// An injectable source of identifiers and secret random values.
import { randomBytes, randomUUID } from 'node:crypto';

export interface IdSource {
  /** A unique, non-secret identifier (document ids, lease holders, request ids). */
  newId(): string;
  /** `bytes` of cryptographically secure randomness, base64url-encoded (states, verifiers, nonces). */
  secretToken(bytes: number): string;
}

export const cryptoIdSource: IdSource = Object.freeze({
  newId: () => randomUUID(),
  secretToken: (bytes: number) => {
    if (!Number.isInteger(bytes) || bytes < 16) throw new TypeError('secretToken needs at least 16 bytes of entropy');
    return randomBytes(bytes).toString('base64url');
  },
});

/** Deterministic ids for tests: `prefix-1`, `prefix-2`, ...; secret tokens still come from the CSPRNG. */
export function sequentialIdSource(prefix = 'id'): IdSource {
  let next = 0;
  return {
    newId: () => `${prefix}-${++next}`,
    secretToken: cryptoIdSource.secretToken,
  };
}
