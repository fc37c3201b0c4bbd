// Key rotation: re-wrapping moves a data key to the primary KMS key version without touching the token ciphertext.
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import { createStandinClient } from '../../../local/kms-standin/standin-client.js';
import { type VaultHarness, startVaultHarness } from '../../support/vault-harness.js';

const context = { collection: 'connections', documentId: 'conn-9', field: 'credentials', tenantId: 'acme' };
const secret = 'refresh-token-of-conn-9';

let h: VaultHarness;
let admin: KeyManagementServiceClient;
beforeEach(async () => {
  h = await startVaultHarness();
  admin = createStandinClient(h.kms.endpoint);
});
afterEach(async () => {
  await admin.close();
  await h.close();
});

describe('rewrap', () => {
  it('moves an old blob to the new primary version, leaving ciphertext, IV and tag byte for byte', async () => {
    const blob = await h.vault.seal(secret, context);
    expect(blob.kmsKeyVersion).toBe(`${h.keyName}/cryptoKeyVersions/1`);
    const v2 = h.kms.rotate(h.keyName);
    h.clock.advance(61_000); // past the vault's cached reading of the primary version

    h.kms.resetCounters();
    const rewrapped = await h.vault.rewrap(blob, context);
    expect(rewrapped.kmsKeyVersion).toBe(v2);
    expect(rewrapped.ciphertext.equals(blob.ciphertext)).toBe(true);
    expect(rewrapped.iv.equals(blob.iv)).toBe(true);
    expect(rewrapped.tag.equals(blob.tag)).toBe(true);
    expect(rewrapped.wrappedKey.equals(blob.wrappedKey)).toBe(false);
    // KMS has no re-encrypt for symmetric keys: the key came from the cache, the re-wrap is one Encrypt.
    expect(h.kms.calls.GetCryptoKey).toBe(1);
    expect(h.kms.calls.Encrypt).toBe(1);
    expect(h.kms.calls.Decrypt).toBe(0);

    const cold = h.newVault();
    expect((await cold.open(rewrapped, context)).toString()).toBe(secret);
    expect((await cold.open(blob, context)).toString()).toBe(secret);
  });

  it('returns the very same blob when it already uses the primary version, with no Encrypt or Decrypt', async () => {
    const blob = await h.vault.seal(secret, context);
    h.kms.resetCounters();
    expect(await h.vault.rewrap(blob, context)).toBe(blob);
    expect(await h.newVault().rewrap(blob, context)).toBe(blob);
    expect(h.kms.calls.Encrypt + h.kms.calls.Decrypt).toBe(0);
  });

  it('trusts its reading of the primary version briefly, then asks KMS again', async () => {
    const vault = h.newVault();
    const blob = await h.vault.seal(secret, context);
    h.kms.resetCounters();
    expect(await vault.rewrap(blob, context)).toBe(blob);
    h.kms.rotate(h.keyName);
    expect(await vault.rewrap(blob, context)).toBe(blob);
    expect(h.kms.calls.GetCryptoKey).toBe(1);
    h.clock.advance(60_000);
    expect((await vault.rewrap(blob, context)).kmsKeyVersion).toBe(`${h.keyName}/cryptoKeyVersions/2`);
    expect(h.kms.calls.GetCryptoKey).toBe(2);
  });

  it('after the old version is destroyed, re-wrapped blobs still open and the others fail loudly', async () => {
    const kept = await h.vault.seal(secret, context);
    const forgotten = await h.vault.seal('not re-wrapped', { ...context, documentId: 'conn-10' });
    h.kms.rotate(h.keyName);
    h.clock.advance(61_000);
    const rewrapped = await h.newVault().rewrap(kept, context);

    const [destroyed] = await admin.destroyCryptoKeyVersion({ name: `${h.keyName}/cryptoKeyVersions/1` });
    expect(destroyed.state).toBe('DESTROY_SCHEDULED');

    const cold = h.newVault();
    h.kms.resetCounters();
    expect((await cold.open(rewrapped, context)).toString()).toBe(secret);
    expect(h.kms.calls.Decrypt).toBe(1);
    const error = await cold.open(forgotten, { ...context, documentId: 'conn-10' }).catch((e: unknown) => e);
    expect(isBrokerError(error, 'misconfigured')).toBe(true);
    expect(String((error as Error).cause)).toMatch(/is not enabled, current state is: DESTROY_SCHEDULED/);
  });

  it('refuses to re-wrap a blob that does not open in the given context, sending nothing to Encrypt', async () => {
    const blob = await h.vault.seal(secret, context);
    h.kms.rotate(h.keyName);
    h.clock.advance(61_000);
    h.kms.resetCounters();
    for (const vault of [h.vault, h.newVault()]) {
      const error = await vault.rewrap(blob, { ...context, tenantId: 'globex' }).catch((e: unknown) => e);
      expect(isBrokerError(error, 'crypto_integrity')).toBe(true);
    }
    expect(h.kms.calls.Encrypt).toBe(0);
  });

  it('new seals use the new primary version automatically', async () => {
    const v2 = h.kms.rotate(h.keyName);
    expect((await h.vault.seal(secret, context)).kmsKeyVersion).toBe(v2);
  });
});
