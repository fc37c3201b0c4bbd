// The broker's crypto vault: envelope encryption of sealed fields with Cloud KMS, built from config in one place.
//
// How it holds up:
// - Each sealed record has its own 256-bit data key (AES-256-GCM, 96-bit random IV). The associated data
//   is the record's location (collection, document id, field, tenant), both for AES-GCM and for the KMS
//   Encrypt that wraps the data key, so a blob copied elsewhere opens nowhere.
// - The wrapped key and the KMS key version are stored beside the ciphertext. Rotation: new seals use the
//   primary version; `rewrap` moves an old wrapped key to the primary with KMS Decrypt + Encrypt (Cloud KMS
//   has no re-encrypt call for symmetric keys) and leaves the ciphertext, IV and tag as they are.
// - Warm opens make no KMS call: unwrapped keys sit in a bounded LRU cache with a TTL, keyed by a hash of the
//   wrapped key, and are zeroed when they leave it. Concurrent cold opens share one Decrypt.
// - Crypto-shredding a record means deleting its wrapped key and ciphertext from the document (the store
//   does that) and calling `forget`, after which this process holds no copy of its data key. Honestly:
//   Firestore keeps old document versions, wrapped key included, for its version retention window (1 hour,
//   or 7 days with point-in-time recovery) and in backups for their retention; until those expire, whoever
//   can read them and use the KMS key can still open the record. Destroying a KMS key version shreds every
//   record still wrapped under it (backups included), and only those: re-wrap live records first.
// - Key material, plaintext and wrapped keys never appear in an error message or a log line. google-gax logs
//   requests (plaintext data keys included) only when GOOGLE_SDK_NODE_LOGGING names kms: never set it in production.
import { BrokerError } from '../errors/broker-error.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../time/clock.js';
import { type Vault, createEnvelopeVault } from './envelope-vault.js';
import { createKmsClientSource } from './kms-client.js';
import { createKmsKeyWrapper } from './kms-key-wrapper.js';

export interface VaultDependencies {
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Deadline of one KMS attempt (default 10 s). */
  readonly kmsCallTimeoutMs?: number;
  /** Attempts per KMS call on UNAVAILABLE / DEADLINE_EXCEEDED (default 3). */
  readonly kmsMaxAttempts?: number;
}

/** Builds the vault over Cloud KMS: the stand-in on loopback when `kms.apiEndpoint` is set, else the real service with ADC. */
export function createVault(config: Pick<Config, 'kms'>, dependencies: VaultDependencies): Vault {
  const { keyName, apiEndpoint, dataKeyCacheMaxEntries, dataKeyCacheTtlMs } = config.kms;
  if (!keyName) {
    throw new BrokerError('misconfigured', 'KMS_KEY_NAME is not set: the vault cannot seal or open anything', {
      details: { variables: ['KMS_KEY_NAME'] },
    });
  }
  const keyWrapper = createKmsKeyWrapper({
    keyName,
    clients: createKmsClientSource({ apiEndpoint }),
    clock: dependencies.clock,
    logger: dependencies.logger,
    ...(dependencies.kmsCallTimeoutMs === undefined ? {} : { callTimeoutMs: dependencies.kmsCallTimeoutMs }),
    ...(dependencies.kmsMaxAttempts === undefined ? {} : { maxAttempts: dependencies.kmsMaxAttempts }),
  });
  return createEnvelopeVault({
    keyWrapper,
    clock: dependencies.clock,
    logger: dependencies.logger,
    dataKeyCache: { maxEntries: dataKeyCacheMaxEntries, ttlMs: dataKeyCacheTtlMs },
  });
}

export type { PreparedSeal, Vault } from './envelope-vault.js';
export type { SealContext } from './seal-context.js';
export type { SealedBlob } from './sealed-blob.js';
