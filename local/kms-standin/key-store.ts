// The stand-in's key rings, crypto keys and versions (AES-256-GCM material), in memory or in one JSON file.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { z } from 'zod';
import type { Clock } from '../../shared/time/clock.js';
import { KmsStatusError } from './kms-status-error.js';
import { recordKeyBytes } from '../leak-ledger/leak-recorder.js';
import {
  parseCryptoKeyName,
  parseVersionName,
  requireCryptoKey,
  requireId,
  requireKeyRing,
  requireLocation,
  requireVersion,
} from './resource-names.js';

const versionStates = ['ENABLED', 'DISABLED', 'DESTROY_SCHEDULED', 'DESTROYED'] as const;

const versionRecordSchema = z.object({
  id: z.number().int().positive(),
  state: z.enum(versionStates),
  createTimeMs: z.number(),
  destroyTimeMs: z.number().optional(),
  destroyEventTimeMs: z.number().optional(),
  /** base64 AES-256 key; dropped once the version is DESTROYED, as the real service does. */
  material: z.string().optional(),
});

const cryptoKeyRecordSchema = z.object({
  createTimeMs: z.number(),
  primaryVersionId: z.number().int().positive().optional(),
  nextVersionId: z.number().int().positive(),
  rotationPeriodSeconds: z.number().int().positive().optional(),
  nextRotationTimeMs: z.number().optional(),
  destroyScheduledDurationSeconds: z.number().int().positive(),
  labels: z.record(z.string(), z.string()),
  versions: z.array(versionRecordSchema),
});

const storeFileSchema = z.object({
  format: z.literal(1),
  keyRings: z.record(z.string(), z.object({ createTimeMs: z.number() })),
  cryptoKeys: z.record(z.string(), cryptoKeyRecordSchema),
});

type VersionRecord = z.infer<typeof versionRecordSchema>;
type CryptoKeyRecord = z.infer<typeof cryptoKeyRecordSchema>;
type StoreFile = z.infer<typeof storeFileSchema>;

export const STORE_FILE_NAME = 'kms-standin.json';
const MAX_DATA_BYTES = 64 * 1024;
const DEFAULT_DESTROY_SCHEDULED_SECONDS = 30 * 24 * 3600;
const MIN_ROTATION_SECONDS = 24 * 3600;

// Ciphertext: format byte, 8-byte key fingerprint, 4-byte version id, 12-byte IV, AES-GCM body, 16-byte tag.
// Like the real service's, it names its own key version, so Decrypt needs only the CryptoKey.
const FORMAT = 0x01;
const HEADER_BYTES = 1 + 8 + 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Timestamp {
  seconds: number;
  nanos: number;
}

const timestamp = (ms: number): Timestamp => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 });
const millisOf = (value: { seconds?: number | string; nanos?: number } | null | undefined): number | undefined =>
  value ? Number(value.seconds ?? 0) * 1000 + Math.floor((value.nanos ?? 0) / 1_000_000) : undefined;

const fingerprintOf = (cryptoKeyName: string): Buffer =>
  createHash('sha256').update(cryptoKeyName).digest().subarray(0, 8);

const decryptionFailed = (): KmsStatusError =>
  new KmsStatusError(status.INVALID_ARGUMENT, 'Decryption failed: the ciphertext is invalid.');
const wrongKey = (): KmsStatusError =>
  new KmsStatusError(status.INVALID_ARGUMENT, "Decryption failed: verify that 'name' refers to the correct CryptoKey.");

export interface CryptoKeyInput {
  purpose?: string | null;
  rotationPeriod?: { seconds?: number | string } | null;
  nextRotationTime?: { seconds?: number | string; nanos?: number } | null;
  destroyScheduledDuration?: { seconds?: number | string } | null;
  versionTemplate?: { algorithm?: string | null } | null;
  labels?: Record<string, string> | null;
}

export interface KeyStoreOptions {
  readonly clock: Clock;
  /** Keep keys in `<dataDir>/kms-standin.json` (created 0600); in memory only when unset. */
  readonly dataDir?: string | undefined;
}

export class KeyStore {
  readonly #clock: Clock;
  readonly #file: string | undefined;
  readonly #state: StoreFile;

  constructor(options: KeyStoreOptions) {
    this.#clock = options.clock;
    this.#file = options.dataDir === undefined ? undefined : path.join(options.dataDir, STORE_FILE_NAME);
    this.#state = this.#load();
  }

  #load(): StoreFile {
    if (!this.#file || !existsSync(this.#file)) return { format: 1, keyRings: {}, cryptoKeys: {} };
    const parsed = storeFileSchema.safeParse(JSON.parse(readFileSync(this.#file, 'utf8')));
    if (!parsed.success) throw new Error(`The KMS stand-in key file ${this.#file} is not in the expected format`);
    return parsed.data;
  }

  // Write-then-rename, so a crash mid-write never leaves a truncated key file behind.
  #save(): void {
    if (!this.#file) return;
    mkdirSync(path.dirname(this.#file), { recursive: true, mode: 0o700 });
    const temporary = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.#state, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, this.#file);
  }

  #now(): number {
    return this.#clock.nowMs();
  }

  /** Applies what time does on the real service: scheduled rotations and scheduled destructions. */
  #advance(key: CryptoKeyRecord): void {
    const now = this.#now();
    let changed = false;
    while (key.rotationPeriodSeconds && key.nextRotationTimeMs !== undefined && key.nextRotationTimeMs <= now) {
      const version = this.#newVersion(key, key.nextRotationTimeMs);
      key.primaryVersionId = version.id;
      key.nextRotationTimeMs += key.rotationPeriodSeconds * 1000;
      changed = true;
    }
    for (const version of key.versions) {
      if (version.state === 'DESTROY_SCHEDULED' && version.destroyTimeMs !== undefined && version.destroyTimeMs <= now) {
        version.state = 'DESTROYED';
        version.destroyEventTimeMs = version.destroyTimeMs;
        delete version.material;
        changed = true;
      }
    }
    if (changed) this.#save();
  }

  #newVersion(key: CryptoKeyRecord, createTimeMs: number): VersionRecord {
    const material = randomBytes(32);
    recordKeyBytes('kms:key_material', material);
    const version: VersionRecord = {
      id: key.nextVersionId++,
      state: 'ENABLED',
      createTimeMs,
      material: material.toString('base64'),
    };
    key.versions.push(version);
    return version;
  }

  #keyRingOrThrow(name: string): void {
    if (!this.#state.keyRings[name]) throw new KmsStatusError(status.NOT_FOUND, `KeyRing ${name} not found.`);
  }

  #cryptoKeyOrThrow(name: string): CryptoKeyRecord {
    const key = this.#state.cryptoKeys[name];
    if (!key) throw new KmsStatusError(status.NOT_FOUND, `CryptoKey ${name} not found.`);
    this.#advance(key);
    return key;
  }

  #versionOrThrow(name: string): { key: CryptoKeyRecord; version: VersionRecord; cryptoKey: string } {
    const { cryptoKey, versionId } = requireVersion(name);
    const key = this.#state.cryptoKeys[cryptoKey];
    if (key) this.#advance(key);
    const version = key?.versions.find((candidate) => candidate.id === versionId);
    if (!key || !version) throw new KmsStatusError(status.NOT_FOUND, `CryptoKeyVersion ${name} not found.`);
    return { key, version, cryptoKey };
  }

  #versionView(cryptoKey: string, version: VersionRecord) {
    return {
      name: `${cryptoKey}/cryptoKeyVersions/${version.id}`,
      state: version.state,
      protectionLevel: 'SOFTWARE',
      algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION',
      createTime: timestamp(version.createTimeMs),
      generateTime: timestamp(version.createTimeMs),
      ...(version.destroyTimeMs === undefined ? {} : { destroyTime: timestamp(version.destroyTimeMs) }),
      ...(version.destroyEventTimeMs === undefined ? {} : { destroyEventTime: timestamp(version.destroyEventTimeMs) }),
    };
  }

  #cryptoKeyView(name: string, key: CryptoKeyRecord) {
    const primary = key.versions.find((version) => version.id === key.primaryVersionId);
    return {
      name,
      purpose: 'ENCRYPT_DECRYPT',
      createTime: timestamp(key.createTimeMs),
      ...(primary ? { primary: this.#versionView(name, primary) } : {}),
      ...(key.rotationPeriodSeconds === undefined ? {} : { rotationPeriod: { seconds: key.rotationPeriodSeconds } }),
      ...(key.nextRotationTimeMs === undefined ? {} : { nextRotationTime: timestamp(key.nextRotationTimeMs) }),
      versionTemplate: { protectionLevel: 'SOFTWARE', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' },
      labels: key.labels,
      destroyScheduledDuration: { seconds: key.destroyScheduledDurationSeconds },
    };
  }

  createKeyRing(parent: string, keyRingId: string) {
    requireLocation(parent);
    requireId('key_ring_id', keyRingId);
    const name = `${parent}/keyRings/${keyRingId}`;
    if (this.#state.keyRings[name]) throw new KmsStatusError(status.ALREADY_EXISTS, `KeyRing ${name} already exists.`);
    const createTimeMs = this.#now();
    this.#state.keyRings[name] = { createTimeMs };
    this.#save();
    return { name, createTime: timestamp(createTimeMs) };
  }

  hasKeyRing(name: string): boolean {
    return this.#state.keyRings[name] !== undefined;
  }

  hasCryptoKey(name: string): boolean {
    return this.#state.cryptoKeys[name] !== undefined;
  }

  createCryptoKey(parent: string, cryptoKeyId: string, input: CryptoKeyInput, skipInitialVersionCreation: boolean) {
    requireKeyRing(parent);
    requireId('crypto_key_id', cryptoKeyId);
    this.#keyRingOrThrow(parent);
    const name = `${parent}/cryptoKeys/${cryptoKeyId}`;
    if (this.#state.cryptoKeys[name]) throw new KmsStatusError(status.ALREADY_EXISTS, `CryptoKey ${name} already exists.`);
    if (input.purpose !== 'ENCRYPT_DECRYPT') {
      throw new KmsStatusError(status.INVALID_ARGUMENT, 'The KMS stand-in supports only ENCRYPT_DECRYPT crypto keys.');
    }
    const algorithm = input.versionTemplate?.algorithm;
    if (algorithm && algorithm !== 'GOOGLE_SYMMETRIC_ENCRYPTION' && algorithm !== 'CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED') {
      throw new KmsStatusError(status.INVALID_ARGUMENT, `Algorithm ${algorithm} is not valid for purpose ENCRYPT_DECRYPT.`);
    }
    const rotationPeriodSeconds = input.rotationPeriod ? Number(input.rotationPeriod.seconds ?? 0) : undefined;
    const nextRotationTimeMs = millisOf(input.nextRotationTime);
    if (rotationPeriodSeconds !== undefined) {
      if (rotationPeriodSeconds < MIN_ROTATION_SECONDS) {
        throw new KmsStatusError(status.INVALID_ARGUMENT, 'crypto_key.rotation_period must be at least 24 hours.');
      }
      if (nextRotationTimeMs === undefined) {
        throw new KmsStatusError(
          status.INVALID_ARGUMENT,
          'crypto_key.next_rotation_time must be set when crypto_key.rotation_period is set.',
        );
      }
    }
    const createTimeMs = this.#now();
    const key: CryptoKeyRecord = {
      createTimeMs,
      nextVersionId: 1,
      destroyScheduledDurationSeconds: input.destroyScheduledDuration
        ? Number(input.destroyScheduledDuration.seconds ?? 0) || DEFAULT_DESTROY_SCHEDULED_SECONDS
        : DEFAULT_DESTROY_SCHEDULED_SECONDS,
      labels: { ...(input.labels ?? {}) },
      versions: [],
      ...(rotationPeriodSeconds === undefined ? {} : { rotationPeriodSeconds }),
      ...(nextRotationTimeMs === undefined ? {} : { nextRotationTimeMs }),
    };
    if (!skipInitialVersionCreation) key.primaryVersionId = this.#newVersion(key, createTimeMs).id;
    this.#state.cryptoKeys[name] = key;
    this.#save();
    return this.#cryptoKeyView(name, key);
  }

  getCryptoKey(name: string) {
    requireCryptoKey(name);
    return this.#cryptoKeyView(name, this.#cryptoKeyOrThrow(name));
  }

  getCryptoKeyVersion(name: string) {
    const { version, cryptoKey } = this.#versionOrThrow(name);
    return this.#versionView(cryptoKey, version);
  }

  listCryptoKeyVersions(parent: string, pageSize: number, pageToken: string, filter: string) {
    requireCryptoKey(parent);
    const key = this.#cryptoKeyOrThrow(parent);
    let versions = key.versions;
    if (filter) {
      const match = /^state\s*(=|!=)\s*([A-Z_]+)$/.exec(filter.trim());
      if (!match) throw new KmsStatusError(status.INVALID_ARGUMENT, `The KMS stand-in cannot evaluate filter "${filter}".`);
      const [, operator, state] = match;
      versions = versions.filter((version) => (operator === '=') === (version.state === state));
    }
    const start = pageToken ? Number.parseInt(pageToken, 10) : 0;
    if (!Number.isInteger(start) || start < 0 || start > versions.length) {
      throw new KmsStatusError(status.INVALID_ARGUMENT, 'Invalid page_token.');
    }
    const size = pageSize > 0 ? Math.min(pageSize, 1000) : 1000;
    const page = versions.slice(start, start + size);
    const next = start + page.length;
    return {
      cryptoKeyVersions: page.map((version) => this.#versionView(parent, version)),
      nextPageToken: next < versions.length ? String(next) : '',
      totalSize: versions.length,
    };
  }

  createCryptoKeyVersion(parent: string) {
    requireCryptoKey(parent);
    const key = this.#cryptoKeyOrThrow(parent);
    const version = this.#newVersion(key, this.#now());
    this.#save();
    return this.#versionView(parent, version);
  }

  updateCryptoKeyPrimaryVersion(name: string, versionId: string) {
    requireCryptoKey(name);
    const key = this.#cryptoKeyOrThrow(name);
    const versionName = `${name}/cryptoKeyVersions/${versionId}`;
    const version = /^[1-9]\d{0,9}$/.test(versionId)
      ? key.versions.find((candidate) => candidate.id === Number(versionId))
      : undefined;
    if (!version) throw new KmsStatusError(status.NOT_FOUND, `CryptoKeyVersion ${versionName} not found.`);
    if (version.state !== 'ENABLED') {
      throw new KmsStatusError(status.FAILED_PRECONDITION, `${versionName} is not enabled, current state is: ${version.state}.`);
    }
    key.primaryVersionId = version.id;
    this.#save();
    return this.#cryptoKeyView(name, key);
  }

  destroyCryptoKeyVersion(name: string) {
    const { key, version, cryptoKey } = this.#versionOrThrow(name);
    if (version.state !== 'ENABLED' && version.state !== 'DISABLED') {
      throw new KmsStatusError(
        status.FAILED_PRECONDITION,
        `${name} is not in a state that can be destroyed, current state is: ${version.state}.`,
      );
    }
    version.state = 'DESTROY_SCHEDULED';
    version.destroyTimeMs = this.#now() + key.destroyScheduledDurationSeconds * 1000;
    this.#save();
    return this.#versionView(cryptoKey, version);
  }

  /** Creates a new version and makes it primary (what a scheduled rotation does); returns its name. */
  rotate(cryptoKeyName: string): string {
    requireCryptoKey(cryptoKeyName);
    const key = this.#cryptoKeyOrThrow(cryptoKeyName);
    const version = this.#newVersion(key, this.#now());
    key.primaryVersionId = version.id;
    this.#save();
    return `${cryptoKeyName}/cryptoKeyVersions/${version.id}`;
  }

  encrypt(name: string, plaintext: Buffer, associatedData: Buffer): { versionName: string; ciphertext: Buffer } {
    const asVersion = parseVersionName(name);
    const cryptoKey = asVersion ? asVersion.cryptoKey : requireCryptoKey(name);
    const key = this.#cryptoKeyOrThrow(cryptoKey);
    if (plaintext.length === 0) throw new KmsStatusError(status.INVALID_ARGUMENT, 'plaintext is required.');
    if (plaintext.length > MAX_DATA_BYTES) {
      throw new KmsStatusError(status.INVALID_ARGUMENT, 'The plaintext must be no larger than 64KiB.');
    }
    if (associatedData.length > MAX_DATA_BYTES) {
      throw new KmsStatusError(status.INVALID_ARGUMENT, 'The additional_authenticated_data must be no larger than 64KiB.');
    }
    const versionId = asVersion ? asVersion.versionId : key.primaryVersionId;
    if (versionId === undefined) {
      throw new KmsStatusError(status.FAILED_PRECONDITION, `CryptoKey ${cryptoKey} has no primary CryptoKeyVersion.`);
    }
    const versionName = `${cryptoKey}/cryptoKeyVersions/${versionId}`;
    const version = key.versions.find((candidate) => candidate.id === versionId);
    if (!version) throw new KmsStatusError(status.NOT_FOUND, `CryptoKeyVersion ${versionName} not found.`);
    if (version.state !== 'ENABLED' || !version.material) {
      throw new KmsStatusError(status.FAILED_PRECONDITION, `${versionName} is not enabled, current state is: ${version.state}.`);
    }
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt8(FORMAT, 0);
    fingerprintOf(cryptoKey).copy(header, 1);
    header.writeUInt32BE(version.id, 9);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(version.material, 'base64'), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.concat([header, associatedData]));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { versionName, ciphertext: Buffer.concat([header, iv, body, cipher.getAuthTag()]) };
  }

  decrypt(name: string, ciphertext: Buffer, associatedData: Buffer): { plaintext: Buffer; usedPrimary: boolean } {
    if (!parseCryptoKeyName(name)) requireCryptoKey(name);
    const key = this.#cryptoKeyOrThrow(name);
    if (ciphertext.length < HEADER_BYTES + IV_BYTES + TAG_BYTES || ciphertext.readUInt8(0) !== FORMAT) {
      throw decryptionFailed();
    }
    const header = ciphertext.subarray(0, HEADER_BYTES);
    if (!header.subarray(1, 9).equals(fingerprintOf(name))) throw wrongKey();
    const versionId = header.readUInt32BE(9);
    const version = key.versions.find((candidate) => candidate.id === versionId);
    if (!version) throw wrongKey();
    const versionName = `${name}/cryptoKeyVersions/${versionId}`;
    if (version.state !== 'ENABLED' || !version.material) {
      throw new KmsStatusError(status.FAILED_PRECONDITION, `${versionName} is not enabled, current state is: ${version.state}.`);
    }
    const iv = ciphertext.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
    const body = ciphertext.subarray(HEADER_BYTES + IV_BYTES, ciphertext.length - TAG_BYTES);
    const tag = ciphertext.subarray(ciphertext.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', Buffer.from(version.material, 'base64'), iv, {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.concat([header, associatedData]));
      decipher.setAuthTag(tag);
      const plaintext = Buffer.concat([decipher.update(body), decipher.final()]);
      return { plaintext, usedPrimary: version.id === key.primaryVersionId };
    } catch {
      throw decryptionFailed();
    }
  }
}
