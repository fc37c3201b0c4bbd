// Wraps and unwraps data keys with Cloud KMS Encrypt/Decrypt, checking every CRC32C field the client library leaves unchecked.
import { BrokerError } from '../errors/broker-error.js';
import type { Clock } from '../time/clock.js';
import type { Logger } from '../log/logger.js';
import { crc32c } from './crc32c.js';
import type { KeyWrapper, WrappedDataKey } from './key-wrapper.js';
import type { KmsClientSource } from './kms-client.js';
import {
  type KmsOperation,
  KmsTransitCorruption,
  isRequestChecksumRejection,
  kmsChecksumError,
  kmsFailure,
} from './kms-errors.js';

export interface KmsKeyWrapperOptions {
  readonly keyName: string;
  readonly clients: KmsClientSource;
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  /** Deadline of one KMS attempt. */
  readonly callTimeoutMs?: number;
  /** Attempts per call for UNAVAILABLE / DEADLINE_EXCEEDED, with google-gax's jittered backoff. */
  readonly maxAttempts?: number;
  /** How long GetCryptoKey's primary version is trusted before asking again. */
  readonly primaryVersionTtlMs?: number;
}

type Int64Value = { value?: number | string | { toString(): string } | null } | null | undefined;

function checksumOf(field: Int64Value): number | undefined {
  const value = field?.value;
  if (value === null || value === undefined) return undefined;
  const parsed = Number(typeof value === 'object' ? value.toString() : value);
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

function asBuffer(value: Uint8Array | string | null | undefined): Buffer {
  if (value === null || value === undefined) return Buffer.alloc(0);
  if (typeof value === 'string') return Buffer.from(value, 'base64');
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export function createKmsKeyWrapper(options: KmsKeyWrapperOptions): KeyWrapper {
  const { keyName, clients, clock, logger } = options;
  // google-gax's defaults retry UNAVAILABLE for up to 10 minutes: far too long for a token read. Every call
  // passes both fields: gax writes maxRetries into the method's shared settings, and a later call with a
  // timeout but no maxRetries would then fail ("Cannot set both totalTimeoutMillis and maxRetries").
  const callOptions = { timeout: options.callTimeoutMs ?? 10_000, maxRetries: options.maxAttempts ?? 3 };
  const primaryTtlMs = options.primaryVersionTtlMs ?? 60_000;
  const versionPrefix = `${keyName}/cryptoKeyVersions/`;
  let primary: { name: string; fetchedAtMs: number } | undefined;
  let primaryInFlight: Promise<string> | undefined;

  // The data integrity guide: on a checksum mismatch discard the response and retry a limited number of times.
  async function withTransitRetry<T>(operation: KmsOperation, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const corrupted = error instanceof KmsTransitCorruption || isRequestChecksumRejection(error);
        if (!corrupted) throw kmsFailure(operation, error);
        if (attempt >= 2) throw kmsChecksumError(operation, error);
        logger?.warn('crypto.kms_checksum_retry', 'KMS data failed a CRC32C check in transit; retrying once', {
          keyName,
          reason: operation,
        });
      }
    }
  }

  async function wrap(dataKey: Buffer, associatedData: Buffer): Promise<WrappedDataKey> {
    return withTransitRetry('wrap', async () => {
      const client = await clients.get();
      const [response] = await client.encrypt(
        {
          name: keyName,
          plaintext: dataKey,
          additionalAuthenticatedData: associatedData,
          plaintextCrc32c: { value: crc32c(dataKey) },
          additionalAuthenticatedDataCrc32c: { value: crc32c(associatedData) },
        },
        callOptions,
      );
      if (!response.verifiedPlaintextCrc32c || !response.verifiedAdditionalAuthenticatedDataCrc32c) {
        throw new KmsTransitCorruption('Encrypt did not confirm the request checksums');
      }
      const wrappedKey = asBuffer(response.ciphertext);
      if (wrappedKey.length === 0 || checksumOf(response.ciphertextCrc32c) !== crc32c(wrappedKey)) {
        throw new KmsTransitCorruption('Encrypt ciphertext does not match ciphertext_crc32c');
      }
      const keyVersionName = response.name ?? '';
      if (!keyVersionName.startsWith(versionPrefix) || !/^[1-9]\d*$/.test(keyVersionName.slice(versionPrefix.length))) {
        throw new KmsTransitCorruption('Encrypt named a key version outside the configured key');
      }
      // Encrypt on a CryptoKey uses its primary, so the answer is also a fresh reading of the primary.
      primary = { name: keyVersionName, fetchedAtMs: clock.nowMs() };
      return { wrappedKey, keyVersionName };
    });
  }

  async function unwrap(wrappedKey: Buffer, associatedData: Buffer): Promise<Buffer> {
    return withTransitRetry('unwrap', async () => {
      const client = await clients.get();
      const [response] = await client.decrypt(
        {
          name: keyName,
          ciphertext: wrappedKey,
          additionalAuthenticatedData: associatedData,
          ciphertextCrc32c: { value: crc32c(wrappedKey) },
          additionalAuthenticatedDataCrc32c: { value: crc32c(associatedData) },
        },
        callOptions,
      );
      const plaintext = asBuffer(response.plaintext);
      if (checksumOf(response.plaintextCrc32c) !== crc32c(plaintext)) {
        plaintext.fill(0);
        throw new KmsTransitCorruption('Decrypt plaintext does not match plaintext_crc32c');
      }
      return plaintext;
    });
  }

  async function fetchPrimary(): Promise<string> {
    let version;
    try {
      const client = await clients.get();
      [{ primary: version }] = await client.getCryptoKey({ name: keyName }, callOptions);
    } catch (error) {
      throw kmsFailure('primary_version', error);
    }
    if (!version?.name?.startsWith(versionPrefix) || (version.state !== 'ENABLED' && version.state !== 1)) {
      throw new BrokerError('misconfigured', 'The KMS key has no enabled primary version (is it an ENCRYPT_DECRYPT key?)', {
        details: { operation: 'primary_version' },
      });
    }
    primary = { name: version.name, fetchedAtMs: clock.nowMs() };
    return version.name;
  }

  return {
    keyName,
    wrap,
    unwrap,
    async primaryVersion() {
      if (primary && clock.nowMs() - primary.fetchedAtMs < primaryTtlMs) return primary.name;
      if (!primaryInFlight) {
        primaryInFlight = fetchPrimary().finally(() => {
          primaryInFlight = undefined;
        });
      }
      return primaryInFlight;
    },
    async close() {
      primary = undefined;
      await clients.close();
    },
  };
}
