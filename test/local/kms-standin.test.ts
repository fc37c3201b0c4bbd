// The KMS stand-in through the real @google-cloud/kms client: the service's semantics, status codes and wording.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '../../shared/crypto/crc32c.js';
import { ManualClock } from '../../shared/time/clock.js';
import { STORE_FILE_NAME } from '../../local/kms-standin/key-store.js';
import { type KmsStandin, startKmsStandin } from '../../local/kms-standin/server.js';
import { createStandinClient } from '../../local/kms-standin/standin-client.js';

const location = 'projects/standin-test/locations/europe-west1';
const keyRing = `${location}/keyRings/ring`;
const keyName = `${keyRing}/cryptoKeys/key`;
const aad = Buffer.from('collection=connections;doc=1');
// No client retries: google-gax would otherwise retry UNAVAILABLE for minutes. (Not maxRetries: once given,
// google-gax keeps it in the method's shared settings and rejects later calls that carry a timeout.)
const once = { retry: null };

interface GrpcFailure {
  code: number;
  details: string;
}

async function rejection(promise: Promise<unknown>): Promise<GrpcFailure> {
  const error = (await promise.then(
    () => ({ code: -1, details: 'resolved' }),
    (caught: unknown) => caught,
  )) as GrpcFailure;
  return { code: error.code, details: error.details };
}

let kms: KmsStandin;
let client: KeyManagementServiceClient;
const clock = new ManualClock(Date.UTC(2030, 0, 1));

beforeAll(async () => {
  kms = await startKmsStandin({ clock });
  client = createStandinClient(kms.endpoint);
  await client.createKeyRing({ parent: location, keyRingId: 'ring', keyRing: {} });
  await client.createCryptoKey({
    parent: keyRing,
    cryptoKeyId: 'key',
    cryptoKey: {
      purpose: 'ENCRYPT_DECRYPT',
      rotationPeriod: { seconds: 90 * 24 * 3600 },
      nextRotationTime: { seconds: Math.floor(clock.nowMs() / 1000) + 90 * 24 * 3600 },
    },
  });
});
afterEach(() => kms.faults.clear());
afterAll(async () => {
  await client.close();
  await kms.stop();
});

async function encrypt(plaintext: Buffer, name = keyName) {
  const [response] = await client.encrypt({
    name,
    plaintext,
    additionalAuthenticatedData: aad,
    plaintextCrc32c: { value: crc32c(plaintext) },
    additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
  });
  return response;
}

describe('key management', () => {
  it('creates an ENCRYPT_DECRYPT key with version 1 as primary and its rotation schedule', async () => {
    const [key] = await client.getCryptoKey({ name: keyName });
    expect(key).toMatchObject({
      name: keyName,
      purpose: 'ENCRYPT_DECRYPT',
      primary: { name: `${keyName}/cryptoKeyVersions/1`, state: 'ENABLED', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' },
      rotationPeriod: { seconds: String(90 * 24 * 3600) },
    });
    expect(Number(key.nextRotationTime?.seconds)).toBe(Math.floor(clock.nowMs() / 1000) + 90 * 24 * 3600);
  });

  it('answers ALREADY_EXISTS, NOT_FOUND and INVALID_ARGUMENT like the real service', async () => {
    expect(await rejection(client.createKeyRing({ parent: location, keyRingId: 'ring', keyRing: {} }))).toEqual({
      code: status.ALREADY_EXISTS,
      details: `KeyRing ${keyRing} already exists.`,
    });
    expect(await rejection(client.getCryptoKey({ name: `${keyRing}/cryptoKeys/nope` }))).toEqual({
      code: status.NOT_FOUND,
      details: `CryptoKey ${keyRing}/cryptoKeys/nope not found.`,
    });
    const tooFrequent = client.createCryptoKey({
      parent: keyRing,
      cryptoKeyId: 'hourly',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', rotationPeriod: { seconds: 3600 }, nextRotationTime: { seconds: 1 } },
    });
    expect((await rejection(tooFrequent)).code).toBe(status.INVALID_ARGUMENT);
  });

  it('rotates on schedule, as time passes', async () => {
    await client.createCryptoKey({
      parent: keyRing,
      cryptoKeyId: 'daily',
      cryptoKey: {
        purpose: 'ENCRYPT_DECRYPT',
        rotationPeriod: { seconds: 86_400 },
        nextRotationTime: { seconds: Math.floor(clock.nowMs() / 1000) + 86_400 },
      },
    });
    clock.advance(2 * 86_400_000 + 1000);
    const [key] = await client.getCryptoKey({ name: `${keyRing}/cryptoKeys/daily` });
    expect(key.primary?.name).toBe(`${keyRing}/cryptoKeys/daily/cryptoKeyVersions/3`);
  });

  it('adds versions, switches the primary, lists and destroys versions', async () => {
    await client.createCryptoKey({ parent: keyRing, cryptoKeyId: 'managed', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    const managed = `${keyRing}/cryptoKeys/managed`;
    const [v2] = await client.createCryptoKeyVersion({ parent: managed, cryptoKeyVersion: {} });
    expect(v2.name).toBe(`${managed}/cryptoKeyVersions/2`);
    expect((await client.getCryptoKey({ name: managed }))[0].primary?.name).toBe(`${managed}/cryptoKeyVersions/1`);
    const [updated] = await client.updateCryptoKeyPrimaryVersion({ name: managed, cryptoKeyVersionId: '2' });
    expect(updated.primary?.name).toBe(v2.name);

    const [destroyed] = await client.destroyCryptoKeyVersion({ name: `${managed}/cryptoKeyVersions/1` });
    expect(destroyed.state).toBe('DESTROY_SCHEDULED');
    expect(Number(destroyed.destroyTime?.seconds)).toBe(Math.floor(clock.nowMs() / 1000) + 30 * 24 * 3600);
    const [versions] = await client.listCryptoKeyVersions({ parent: managed }, { autoPaginate: false });
    expect(versions.map((version) => [version.name?.split('/').pop(), version.state])).toEqual([
      ['1', 'DESTROY_SCHEDULED'],
      ['2', 'ENABLED'],
    ]);
    const [enabled] = await client.listCryptoKeyVersions({ parent: managed, filter: 'state=ENABLED' }, { autoPaginate: false });
    expect(enabled.map((version) => version.name)).toEqual([v2.name]);
    expect((await rejection(client.updateCryptoKeyPrimaryVersion({ name: managed, cryptoKeyVersionId: '1' }))).code).toBe(
      status.FAILED_PRECONDITION,
    );

    clock.advance(30 * 24 * 3600 * 1000);
    const [gone] = await client.getCryptoKeyVersion({ name: `${managed}/cryptoKeyVersions/1` });
    expect(gone.state).toBe('DESTROYED');
  });
});

describe('Encrypt and Decrypt', () => {
  it('round-trips with AAD and reports every integrity field', async () => {
    const plaintext = Buffer.from('a 32-byte data key, more or less');
    const response = await encrypt(plaintext);
    const ciphertext = Buffer.from(response.ciphertext as Uint8Array);
    expect(response).toMatchObject({
      name: `${keyName}/cryptoKeyVersions/1`,
      verifiedPlaintextCrc32c: true,
      verifiedAdditionalAuthenticatedDataCrc32c: true,
      protectionLevel: 'SOFTWARE',
    });
    expect(Number(response.ciphertextCrc32c?.value)).toBe(crc32c(ciphertext));
    expect(ciphertext.includes(plaintext)).toBe(false);

    const [decrypted] = await client.decrypt({
      name: keyName,
      ciphertext,
      additionalAuthenticatedData: aad,
      ciphertextCrc32c: { value: crc32c(ciphertext) },
    });
    expect(Buffer.from(decrypted.plaintext as Uint8Array).equals(plaintext)).toBe(true);
    expect(Number(decrypted.plaintextCrc32c?.value)).toBe(crc32c(plaintext));
    expect(decrypted.usedPrimary).toBe(true);
  });

  it('says it verified nothing when no checksums were sent', async () => {
    const [response] = await client.encrypt({ name: keyName, plaintext: Buffer.from('x') });
    expect([response.verifiedPlaintextCrc32c, response.verifiedAdditionalAuthenticatedDataCrc32c]).toEqual([false, false]);
  });

  it('refuses a wrong AAD or a tampered ciphertext with the real wording', async () => {
    const ciphertext = Buffer.from((await encrypt(Buffer.from('key'))).ciphertext as Uint8Array);
    const expected = { code: status.INVALID_ARGUMENT, details: 'Decryption failed: the ciphertext is invalid.' };
    expect(
      await rejection(client.decrypt({ name: keyName, ciphertext, additionalAuthenticatedData: Buffer.from('elsewhere') })),
    ).toEqual(expected);
    const tampered = Buffer.from(ciphertext);
    tampered[tampered.length - 20]! ^= 0x01;
    expect(await rejection(client.decrypt({ name: keyName, ciphertext: tampered, additionalAuthenticatedData: aad }))).toEqual(
      expected,
    );
    expect(await rejection(client.decrypt({ name: keyName, ciphertext: Buffer.from('short') }))).toEqual(expected);
  });

  it("refuses another key's ciphertext, naming the 'name' field", async () => {
    kms.ensureKey(`${keyRing}/cryptoKeys/other`);
    const ciphertext = Buffer.from((await encrypt(Buffer.from('key'), `${keyRing}/cryptoKeys/other`)).ciphertext as Uint8Array);
    expect(await rejection(client.decrypt({ name: keyName, ciphertext, additionalAuthenticatedData: aad }))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: "Decryption failed: verify that 'name' refers to the correct CryptoKey.",
    });
  });

  it('refuses mismatched checksums, naming the fields', async () => {
    const plaintext = Buffer.from('key');
    const badPlaintext = client.encrypt({ name: keyName, plaintext, plaintextCrc32c: { value: crc32c(plaintext) ^ 1 } });
    expect(await rejection(badPlaintext)).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'The checksum in field plaintext_crc32c did not match the data in field plaintext.',
    });
    const badAad = client.encrypt({
      name: keyName,
      plaintext,
      additionalAuthenticatedData: aad,
      additionalAuthenticatedDataCrc32c: { value: 0 },
    });
    expect(await rejection(badAad)).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'The checksum in field additional_authenticated_data_crc32c did not match the data in field additional_authenticated_data.',
    });
    const ciphertext = Buffer.from((await encrypt(plaintext)).ciphertext as Uint8Array);
    const badCiphertext = client.decrypt({
      name: keyName,
      ciphertext,
      additionalAuthenticatedData: aad,
      ciphertextCrc32c: { value: crc32c(ciphertext) + 1 },
    });
    expect(await rejection(badCiphertext)).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'The checksum in field ciphertext_crc32c did not match the data in field ciphertext.',
    });
  });

  it('answers NOT_FOUND for an unknown key', async () => {
    const unknown = `${keyRing}/cryptoKeys/unknown`;
    expect(await rejection(client.encrypt({ name: unknown, plaintext: Buffer.from('x') }))).toEqual({
      code: status.NOT_FOUND,
      details: `CryptoKey ${unknown} not found.`,
    });
    expect((await rejection(client.decrypt({ name: unknown, ciphertext: Buffer.alloc(64) }))).code).toBe(status.NOT_FOUND);
  });

  it('encrypts with the primary or a named version; decrypt finds the version in the ciphertext', async () => {
    kms.ensureKey(`${keyRing}/cryptoKeys/rotating`);
    const rotating = `${keyRing}/cryptoKeys/rotating`;
    const old = Buffer.from((await encrypt(Buffer.from('old'), rotating)).ciphertext as Uint8Array);
    const v2 = kms.rotate(rotating);
    expect((await encrypt(Buffer.from('new'), rotating)).name).toBe(v2);
    expect((await encrypt(Buffer.from('pinned'), `${rotating}/cryptoKeyVersions/1`)).name).toBe(`${rotating}/cryptoKeyVersions/1`);
    const [decrypted] = await client.decrypt({ name: rotating, ciphertext: old, additionalAuthenticatedData: aad });
    expect([Buffer.from(decrypted.plaintext as Uint8Array).toString(), decrypted.usedPrimary]).toEqual(['old', false]);

    await client.destroyCryptoKeyVersion({ name: `${rotating}/cryptoKeyVersions/1` });
    expect(await rejection(client.decrypt({ name: rotating, ciphertext: old, additionalAuthenticatedData: aad }))).toEqual({
      code: status.FAILED_PRECONDITION,
      details: `${rotating}/cryptoKeyVersions/1 is not enabled, current state is: DESTROY_SCHEDULED.`,
    });
  });
});

describe('observability and faults', () => {
  it('answers UNIMPLEMENTED for methods it does not play', async () => {
    const failure = await rejection(client.getPublicKey({ name: `${keyName}/cryptoKeyVersions/1` }, once));
    expect(failure.code).toBe(status.UNIMPLEMENTED);
  });

  it('counts calls per method and resets the counters', async () => {
    kms.resetCounters();
    await encrypt(Buffer.from('a'));
    await encrypt(Buffer.from('b'));
    await client.getCryptoKey({ name: keyName });
    expect([kms.calls.Encrypt, kms.calls.GetCryptoKey, kms.calls.Decrypt]).toEqual([2, 1, 0]);
    kms.resetCounters();
    expect(kms.calls.Encrypt).toBe(0);
  });

  it('fails the next N calls, or all calls, with the injected status', async () => {
    kms.faults.failNext('GetCryptoKey', status.UNAVAILABLE, 2);
    expect((await rejection(client.getCryptoKey({ name: keyName }, once))).code).toBe(status.UNAVAILABLE);
    expect((await rejection(client.getCryptoKey({ name: keyName }, once))).code).toBe(status.UNAVAILABLE);
    await client.getCryptoKey({ name: keyName }, once);
    kms.faults.failAll('Encrypt', status.PERMISSION_DENIED);
    for (let i = 0; i < 3; i++) expect((await rejection(encrypt(Buffer.from('x')))).code).toBe(status.PERMISSION_DENIED);
    kms.faults.clear();
    await encrypt(Buffer.from('x'));
  });

  it('adds latency, which a client deadline turns into DEADLINE_EXCEEDED', async () => {
    kms.faults.setLatency('GetCryptoKey', 300);
    const started = performance.now();
    await client.getCryptoKey({ name: keyName });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect((await rejection(client.getCryptoKey({ name: keyName }, { timeout: 50, retry: null }))).code).toBe(
      status.DEADLINE_EXCEEDED,
    );
  });
});

describe('persistence', () => {
  it('keeps key material in a 0600 JSON file, so ciphertexts survive a restart', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'kms-standin-'));
    try {
      const first = await startKmsStandin({ dataDir });
      first.ensureKey(keyName);
      const firstClient = createStandinClient(first.endpoint);
      const [encrypted] = await firstClient.encrypt({ name: keyName, plaintext: Buffer.from('survives') });
      await firstClient.close();
      await first.stop();
      expect(statSync(path.join(dataDir, STORE_FILE_NAME)).mode & 0o777).toBe(0o600);

      const second = await startKmsStandin({ dataDir });
      const secondClient = createStandinClient(second.endpoint);
      second.ensureKey(keyName); // a no-op: the key is already there
      const [decrypted] = await secondClient.decrypt({ name: keyName, ciphertext: encrypted.ciphertext });
      expect(Buffer.from(decrypted.plaintext as Uint8Array).toString()).toBe('survives');
      await secondClient.close();
      await second.stop();

      const inMemory = await startKmsStandin();
      const inMemoryClient = createStandinClient(inMemory.endpoint);
      expect((await rejection(inMemoryClient.decrypt({ name: keyName, ciphertext: encrypted.ciphertext }))).code).toBe(
        status.NOT_FOUND,
      );
      await inMemoryClient.close();
      await inMemory.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('listens on loopback only', async () => {
    await expect(startKmsStandin({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });
});
