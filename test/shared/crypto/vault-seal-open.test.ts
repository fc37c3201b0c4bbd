// Seal/open through the real @google-cloud/kms client against the KMS stand-in: round trips, context binding, tampering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import type { SealedBlob } from '../../../shared/crypto/vault.js';
import { type VaultHarness, startVaultHarness } from '../../support/vault-harness.js';

const context = { collection: 'connections', documentId: 'conn-1', field: 'credentials', tenantId: 'acme' };
const secret = JSON.stringify({ refreshToken: 'rt-very-secret', accessToken: 'at-secret' });

let h: VaultHarness;
beforeAll(async () => {
  h = await startVaultHarness();
});
afterAll(async () => {
  await h.close();
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isBrokerError(error) ? error.code : error).toBe(code);
}

function flip(bytes: Buffer, index = 0): Buffer {
  const copy = Buffer.from(bytes);
  copy[index]! ^= 0x01;
  return copy;
}

describe('seal and open', () => {
  it('round-trips text and bytes, in this instance and in a cold one', async () => {
    const blob = await h.vault.seal(secret, context);
    expect((await h.vault.open(blob, context)).toString('utf8')).toBe(secret);
    const other = h.newVault();
    expect((await other.open(blob, context)).toString('utf8')).toBe(secret);

    const bytes = Buffer.from([0, 1, 2, 255]);
    const binary = await h.vault.seal(bytes, { ...context, field: 'pkceVerifier' });
    expect((await other.open(binary, { ...context, field: 'pkceVerifier' })).equals(bytes)).toBe(true);
  });

  it('produces one complete blob shape of Buffers, a fresh key and IV each time, naming the KMS key version', async () => {
    const a = await h.vault.seal(secret, context);
    const b = await h.vault.seal(secret, context);
    expect(Object.keys(a).sort()).toEqual(['alg', 'ciphertext', 'iv', 'kmsKeyVersion', 'tag', 'v', 'wrappedKey']);
    expect(a).toMatchObject({ v: 1, alg: 'A256GCM', kmsKeyVersion: `${h.keyName}/cryptoKeyVersions/1` });
    expect([a.iv, a.ciphertext, a.tag, a.wrappedKey].every((value) => Buffer.isBuffer(value))).toBe(true);
    expect(a.iv).toHaveLength(12);
    expect(a.tag).toHaveLength(16);
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.wrappedKey.equals(b.wrappedKey)).toBe(false);
    expect(a.ciphertext.includes(Buffer.from('rt-very-secret'))).toBe(false);
  });

  it('opens a blob whose Buffers came back as plain Uint8Arrays', async () => {
    const blob = await h.vault.seal(secret, context);
    const asStored = Object.fromEntries(
      Object.entries(blob).map(([key, value]) => [key, Buffer.isBuffer(value) ? new Uint8Array(value) : value]),
    );
    expect((await h.newVault().open(asStored, context)).toString()).toBe(secret);
  });

  it('refuses a caller mistake (bad context or plaintext) with a TypeError before calling KMS', async () => {
    h.kms.resetCounters();
    await expect(h.vault.seal(secret, { ...context, tenantId: '' })).rejects.toThrow(TypeError);
    await expect(h.vault.seal(42 as unknown as string, context)).rejects.toThrow(TypeError);
    expect(h.kms.calls.Encrypt).toBe(0);
  });
});

describe('a blob moved to another place does not open', () => {
  const moves = {
    'another document': { documentId: 'conn-2' },
    'another field': { field: 'otherCredentials' },
    'another tenant': { tenantId: 'globex' },
    'another collection': { collection: 'flows' },
  };

  for (const [name, change] of Object.entries(moves)) {
    it(`${name}: crypto_integrity, whether the data key is cached or not`, async () => {
      const blob = await h.vault.seal(secret, context);
      await expectCode(h.vault.open(blob, { ...context, ...change }), 'crypto_integrity');
      const cold = h.newVault();
      h.kms.resetCounters();
      await expectCode(cold.open(blob, { ...context, ...change }), 'crypto_integrity');
      // The cold instance asked KMS, which refused to unwrap the key for the wrong context.
      expect(h.kms.calls.Decrypt).toBe(1);
      expect((await cold.open(blob, context)).toString()).toBe(secret);
    });
  }
});

describe('a tampered blob does not open', () => {
  const tampering: Record<string, (blob: SealedBlob) => Record<string, unknown>> = {
    ciphertext: (blob) => ({ ...blob, ciphertext: flip(blob.ciphertext, 5) }),
    tag: (blob) => ({ ...blob, tag: flip(blob.tag, 15) }),
    IV: (blob) => ({ ...blob, iv: flip(blob.iv, 0) }),
    'wrapped key': (blob) => ({ ...blob, wrappedKey: flip(blob.wrappedKey, blob.wrappedKey.length - 3) }),
    'truncated ciphertext': (blob) => ({ ...blob, ciphertext: blob.ciphertext.subarray(1) }),
    'short tag': (blob) => ({ ...blob, tag: blob.tag.subarray(0, 12) }),
    'unknown version': (blob) => ({ ...blob, v: 2 }),
    'missing wrapped key': ({ wrappedKey: _dropped, ...rest }) => rest,
  };

  for (const [name, tamper] of Object.entries(tampering)) {
    it(`${name}: crypto_integrity, warm and cold`, async () => {
      const blob = await h.vault.seal(secret, context);
      const tampered = tamper(blob);
      await expectCode(h.vault.open(tampered, context), 'crypto_integrity');
      await expectCode(h.newVault().open(tampered, context), 'crypto_integrity');
      // The original is untouched and still opens.
      expect((await h.vault.open(blob, context)).toString()).toBe(secret);
    });
  }

  it('the integrity error carries no key material, plaintext or wrapped key', async () => {
    const blob = await h.vault.seal(secret, context);
    const error = await h.newVault().open({ ...blob, wrappedKey: flip(blob.wrappedKey, 20) }, context).catch((e: unknown) => e);
    const shown = JSON.stringify({ message: (error as Error).message, details: (error as { details?: unknown }).details });
    expect(shown).not.toContain(blob.wrappedKey.toString('base64'));
    expect(shown).not.toContain('rt-very-secret');
    expect(h.logLines.join('\n')).not.toContain('rt-very-secret');
  });
});
