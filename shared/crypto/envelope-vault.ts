// Envelope encryption of record fields: AES-256-GCM under a fresh data key per record, the key wrapped by a KeyWrapper.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { BrokerError } from '../errors/broker-error.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../time/clock.js';
import { createDataKeyCache } from './data-key-cache.js';
import type { KeyWrapper } from './key-wrapper.js';
import { type SealContext, encodeAssociatedData, parseSealContext } from './seal-context.js';
import {
  DATA_KEY_BYTES,
  IV_BYTES,
  SEALED_BLOB_ALGORITHM,
  SEALED_BLOB_VERSION,
  type SealedBlob,
  TAG_BYTES,
  sealedBlobSchema,
} from './sealed-blob.js';

/** A data key already wrapped by KMS for one location, good for exactly one local seal. */
export interface PreparedSeal {
  /** Encrypts locally (no KMS call); throws a TypeError if used twice. */
  seal(plaintext: Uint8Array | string): SealedBlob;
  /** Wipes the unused data key. */
  discard(): void;
}

export interface Vault {
  /** Encrypts `plaintext` for exactly this location; returns a complete blob or throws, never half of one. */
  seal(plaintext: Uint8Array | string, context: SealContext): Promise<SealedBlob>;
  /** Does the KMS half of a seal ahead of time, for writes that must not fail once their data exists. */
  prepareSeal(context: SealContext): Promise<PreparedSeal>;
  /** Decrypts a blob sealed for this same location; a moved or altered blob fails with `crypto_integrity`. */
  open(blob: unknown, context: SealContext): Promise<Buffer>;
  /**
   * Re-wraps the data key under the key's current primary version; ciphertext, IV and tag stay as they
   * are. Returns the very same object when the blob already uses the primary. The blob must open in
   * `context` first, so a re-wrap never binds a key to the wrong place.
   */
  rewrap(blob: SealedBlob, context: SealContext): Promise<SealedBlob>;
  /** Drops any cached copy of the blob's data key (crypto-shredding: call it when the record's key is deleted). */
  forget(blob: Pick<SealedBlob, 'wrappedKey'>): void;
  /** Wipes the cache and closes the KMS connection. */
  close(): Promise<void>;
}

export interface EnvelopeVaultOptions {
  readonly keyWrapper: KeyWrapper;
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  readonly dataKeyCache: { readonly maxEntries: number; readonly ttlMs: number };
}

interface Unwrap {
  readonly wrappedKeyId: string;
  readonly promise: Promise<Buffer>;
  /** Cleared by `forget` while the unwrap is in flight, so a forgotten key is not cached after all. */
  cacheable: boolean;
}

const integrityFailure = (reason: string, cause?: unknown): BrokerError =>
  new BrokerError('crypto_integrity', 'Sealed data failed its integrity check', {
    ...(cause === undefined ? {} : { cause }),
    details: { reason },
  });

function wrappedKeyId(wrappedKey: Buffer): string {
  return createHash('sha256').update(wrappedKey).digest('base64url');
}

function parseBlob(blob: unknown): SealedBlob {
  const parsed = sealedBlobSchema.safeParse(blob);
  // A stored blob that is not a blob (or lost its wrapped key to crypto-shredding) cannot be opened.
  if (!parsed.success) throw integrityFailure('malformed_blob');
  return parsed.data;
}

function decryptWith(dataKey: Buffer, blob: SealedBlob, associatedData: Buffer): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, blob.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData);
    decipher.setAuthTag(blob.tag);
    return Buffer.concat([decipher.update(blob.ciphertext), decipher.final()]);
  } catch {
    throw integrityFailure('authentication_failed');
  }
}

export function createEnvelopeVault(options: EnvelopeVaultOptions): Vault {
  const { keyWrapper, logger } = options;
  const cache = createDataKeyCache({ clock: options.clock, ...options.dataKeyCache });
  const unwraps = new Map<string, Unwrap>();

  /**
   * The blob's data key from one KMS Decrypt shared by every concurrent open of the same wrapped key
   * in the same context. Callers use the key synchronously after the await: it is wiped right after.
   */
  function unwrapShared(blob: SealedBlob, id: string, associatedData: Buffer): Promise<Buffer> {
    const flightId = createHash('sha256').update(id).update('\0').update(associatedData).digest('base64url');
    const existing = unwraps.get(flightId);
    if (existing) return existing.promise;
    const promise = keyWrapper.unwrap(blob.wrappedKey, associatedData).then((key) => {
      if (key.length === DATA_KEY_BYTES) return key;
      key.fill(0);
      throw integrityFailure('unexpected_data_key_length');
    });
    const flight: Unwrap = { wrappedKeyId: id, promise, cacheable: true };
    unwraps.set(flightId, flight);
    promise.then(
      (key) => {
        unwraps.delete(flightId);
        if (flight.cacheable) cache.set(id, key);
        // Every waiter resumes within this microtask round; the macrotask below runs after all of them.
        setImmediate(() => key.fill(0));
      },
      () => unwraps.delete(flightId),
    );
    return promise;
  }

  /** Runs `use` with the blob's data key; cache hits stay synchronous so nothing can wipe the key mid-use. */
  async function withDataKey<T>(blob: SealedBlob, associatedData: Buffer, use: (dataKey: Buffer) => T): Promise<T> {
    const id = wrappedKeyId(blob.wrappedKey);
    const cached = cache.get(id);
    if (cached) return use(cached);
    return use(await unwrapShared(blob, id, associatedData));
  }

  /**
   * Wraps a fresh data key now, so that sealing later is local work that cannot fail on KMS. The refresh
   * engine prepares before it calls a provider that rotates refresh tokens: once the provider has answered,
   * the new refresh token must reach storage, and an unavailable KMS must not be able to stop it.
   */
  async function prepareSeal(context: SealContext): Promise<PreparedSeal> {
    const associatedData = encodeAssociatedData(parseSealContext(context));
    const dataKey = randomBytes(DATA_KEY_BYTES);
    let wrapped: { wrappedKey: Buffer; keyVersionName: string };
    try {
      wrapped = await keyWrapper.wrap(dataKey, associatedData);
    } catch (error) {
      dataKey.fill(0);
      throw error;
    }
    let spent = false;
    const spend = () => {
      if (spent) throw new TypeError('A prepared seal seals exactly once');
      spent = true;
    };
    return {
      seal(plaintext) {
        if (typeof plaintext !== 'string' && !(plaintext instanceof Uint8Array)) {
          throw new TypeError('seal needs a string or bytes');
        }
        spend();
        try {
          const iv = randomBytes(IV_BYTES);
          const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
          cipher.setAAD(associatedData);
          const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
          const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
          const tag = cipher.getAuthTag();
          const blob = sealedBlobSchema.parse({
            v: SEALED_BLOB_VERSION,
            alg: SEALED_BLOB_ALGORITHM,
            iv,
            ciphertext,
            tag,
            wrappedKey: wrapped.wrappedKey,
            kmsKeyVersion: wrapped.keyVersionName,
          });
          // The record is usually read right after it is written (connect, then token read): start warm.
          cache.set(wrappedKeyId(wrapped.wrappedKey), dataKey);
          return blob;
        } finally {
          dataKey.fill(0);
        }
      },
      discard() {
        if (spent) return;
        spent = true;
        dataKey.fill(0);
      },
    };
  }

  return {
    async seal(plaintext, context) {
      // Caller mistakes fail before any KMS call.
      if (typeof plaintext !== 'string' && !(plaintext instanceof Uint8Array)) {
        throw new TypeError('seal needs a string or bytes');
      }
      return (await prepareSeal(context)).seal(plaintext);
    },

    prepareSeal,

    async open(blob, context) {
      const associatedData = encodeAssociatedData(parseSealContext(context));
      const parsed = parseBlob(blob);
      return withDataKey(parsed, associatedData, (dataKey) => decryptWith(dataKey, parsed, associatedData));
    },

    async rewrap(blob, context) {
      const associatedData = encodeAssociatedData(parseSealContext(context));
      const parsed = parseBlob(blob);
      const primary = await keyWrapper.primaryVersion();
      if (parsed.kmsKeyVersion === primary) return blob;
      // An own copy, proven to open the blob here: the shared one may be wiped while Encrypt is in flight.
      const dataKey = await withDataKey(parsed, associatedData, (shared) => {
        decryptWith(shared, parsed, associatedData).fill(0);
        const copy = Buffer.alloc(DATA_KEY_BYTES);
        shared.copy(copy);
        return copy;
      });
      try {
        const { wrappedKey, keyVersionName } = await keyWrapper.wrap(dataKey, associatedData);
        const rewrapped = sealedBlobSchema.parse({ ...parsed, wrappedKey, kmsKeyVersion: keyVersionName });
        cache.delete(wrappedKeyId(parsed.wrappedKey));
        cache.set(wrappedKeyId(wrappedKey), dataKey);
        logger?.info('crypto.rewrapped', 'Re-wrapped a data key under the primary key version', {
          keyName: keyWrapper.keyName,
          keyVersion: keyVersionName,
        });
        return rewrapped;
      } finally {
        dataKey.fill(0);
      }
    },

    forget(blob) {
      const wrappedKey = blob?.wrappedKey;
      if (!(wrappedKey instanceof Uint8Array)) throw new TypeError('forget needs the blob whose key to drop');
      const id = wrappedKeyId(Buffer.from(wrappedKey.buffer, wrappedKey.byteOffset, wrappedKey.byteLength));
      cache.delete(id);
      for (const flight of unwraps.values()) if (flight.wrappedKeyId === id) flight.cacheable = false;
    },

    async close() {
      cache.clear();
      await keyWrapper.close();
    },
  };
}
