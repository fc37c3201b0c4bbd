// KMS failures as the vault reports them: typed, retryable where a retry can help, never a half-sealed blob.
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BrokerError, isBrokerError } from '../../../shared/errors/broker-error.js';
import { createVault } from '../../../shared/crypto/vault.js';
import { ManualClock } from '../../../shared/time/clock.js';
import { type VaultHarness, startVaultHarness } from '../../support/vault-harness.js';

const context = { collection: 'connections', documentId: 'conn-5', field: 'credentials', tenantId: 'acme' };
const secret = 'refresh-token-5';

let h: VaultHarness;
beforeEach(async () => {
  h = await startVaultHarness({ kmsMaxAttempts: 2 });
});
afterEach(async () => {
  await h.close();
});

async function failure(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(
    (value) => ({ resolvedWith: value }),
    (caught: unknown) => caught,
  );
  if (!isBrokerError(error)) throw new Error(`expected a BrokerError, got ${JSON.stringify(error)}`);
  return error;
}

describe('KMS unavailable', () => {
  it('UNAVAILABLE on every attempt: kms_unavailable, retryable, and no blob at all', async () => {
    h.kms.faults.failAll('Encrypt', status.UNAVAILABLE);
    h.kms.resetCounters();
    const error = await failure(h.vault.seal(secret, context));
    expect(error.code).toBe('kms_unavailable');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(error.status).toBe(503);
    expect(h.kms.calls.Encrypt).toBe(2); // google-gax retried once, as configured
  });

  it('a single UNAVAILABLE is absorbed by the client retry', async () => {
    h.kms.faults.failNext('Encrypt', status.UNAVAILABLE, 1);
    h.kms.resetCounters();
    const blob = await h.vault.seal(secret, context);
    expect(h.kms.calls.Encrypt).toBe(2);
    expect((await h.newVault().open(blob, context)).toString()).toBe(secret);
  });

  it('a slow KMS hits the call deadline: kms_unavailable', async () => {
    const blob = await h.vault.seal(secret, context);
    const vault = h.newVault({ kmsCallTimeoutMs: 100, kmsMaxAttempts: 1 });
    h.kms.faults.setLatency('Decrypt', 1_000);
    const error = await failure(vault.open(blob, context));
    expect(error.code).toBe('kms_unavailable');
    expect(error.details).toMatchObject({ grpcCode: status.DEADLINE_EXCEEDED });
  });

  for (const [code, retryAfter] of [
    [status.DEADLINE_EXCEEDED, 2],
    [status.INTERNAL, 2],
    [status.RESOURCE_EXHAUSTED, 10],
  ] as const) {
    it(`${status[code]} on Decrypt: kms_unavailable, retry after ${retryAfter} s`, async () => {
      const blob = await h.vault.seal(secret, context);
      h.kms.faults.failAll('Decrypt', code);
      const error = await failure(h.newVault().open(blob, context));
      expect([error.code, error.retryable, error.retryAfterSeconds]).toEqual(['kms_unavailable', true, retryAfter]);
    });
  }
});

describe('KMS refusing the key', () => {
  for (const code of [status.PERMISSION_DENIED, status.NOT_FOUND, status.UNAUTHENTICATED]) {
    it(`${status[code]}: misconfigured, not retryable`, async () => {
      h.kms.faults.failAll('Encrypt', code);
      const error = await failure(h.vault.seal(secret, context));
      expect([error.code, error.retryable]).toEqual(['misconfigured', false]);
    });
  }

  it('a key that does not exist: misconfigured on seal, open and rewrap', async () => {
    const blob = await h.vault.seal(secret, context);
    const vault = createVault(
      {
        kms: {
          keyName: 'projects/broker-test/locations/global/keyRings/broker/cryptoKeys/missing',
          apiEndpoint: h.kms.endpoint,
          dataKeyCacheMaxEntries: 10,
          dataKeyCacheTtlMs: 1_000,
        },
      },
      { clock: h.clock },
    );
    try {
      expect((await failure(vault.seal(secret, context))).code).toBe('misconfigured');
      expect((await failure(vault.open(blob, context))).code).toBe('misconfigured');
      expect((await failure(vault.rewrap(blob, context))).code).toBe('misconfigured');
    } finally {
      await vault.close();
    }
  });

  it('createVault refuses to build without a key name', () => {
    const build = () =>
      createVault(
        { kms: { keyName: undefined, apiEndpoint: undefined, dataKeyCacheMaxEntries: 1, dataKeyCacheTtlMs: 1 } },
        { clock: new ManualClock() },
      );
    expect(build).toThrow(expect.objectContaining({ code: 'misconfigured' }));
  });
});

describe('CRC32C integrity in transit', () => {
  const encryptCorruptions = [
    'ciphertext',
    'ciphertextCrc32c',
    'verifiedPlaintextCrc32c',
    'verifiedAdditionalAuthenticatedDataCrc32c',
    'name',
  ] as const;

  for (const field of encryptCorruptions) {
    it(`Encrypt response with a bad ${field}: retried once, then a typed error`, async () => {
      h.kms.resetCounters();
      h.kms.faults.corruptNextResponse('Encrypt', field, 1);
      const blob = await h.vault.seal(secret, context);
      expect(h.kms.calls.Encrypt).toBe(2);
      expect((await h.newVault().open(blob, context)).toString()).toBe(secret);

      h.kms.resetCounters();
      h.kms.faults.corruptNextResponse('Encrypt', field, 2);
      const error = await failure(h.vault.seal(secret, context));
      expect([error.code, error.details?.reason]).toEqual(['kms_unavailable', 'kms_checksum_mismatch']);
      expect(h.kms.calls.Encrypt).toBe(2);
    });
  }

  for (const field of ['plaintext', 'plaintextCrc32c'] as const) {
    it(`Decrypt response with a bad ${field}: retried once, then a typed error`, async () => {
      const blob = await h.vault.seal(secret, context);
      h.kms.resetCounters();
      h.kms.faults.corruptNextResponse('Decrypt', field, 1);
      expect((await h.newVault().open(blob, context)).toString()).toBe(secret);
      expect(h.kms.calls.Decrypt).toBe(2);

      h.kms.faults.corruptNextResponse('Decrypt', field, 2);
      const error = await failure(h.newVault().open(blob, context));
      expect([error.code, error.details?.reason]).toEqual(['kms_unavailable', 'kms_checksum_mismatch']);
    });
  }

  for (const method of ['Encrypt', 'Decrypt'] as const) {
    it(`a ${method} request corrupted on the way in is refused by KMS, retried once, then a typed error`, async () => {
      const blob = await h.vault.seal(secret, context);
      const vault = h.newVault();
      const run = () => (method === 'Encrypt' ? vault.seal(secret, context) : vault.open(blob, context));
      h.kms.resetCounters();
      h.kms.faults.corruptNextRequest(method, 1);
      await run();
      expect(h.kms.calls[method]).toBe(2);

      vault.forget(blob);
      h.kms.faults.corruptNextRequest(method, 2);
      const error = await failure(run());
      expect([error.code, error.details?.reason]).toEqual(['kms_unavailable', 'kms_checksum_mismatch']);
      expect(String(error.cause)).toMatch(/The checksum in field \w+_crc32c did not match the data in field \w+\./);
    });
  }

  it('logs the retry without the wrapped key or the plaintext', async () => {
    h.kms.faults.corruptNextResponse('Encrypt', 'ciphertextCrc32c', 1);
    const blob = await h.vault.seal(secret, context);
    const log = h.logLines.join('\n');
    expect(log).toContain('crypto.kms_checksum_retry');
    expect(log).not.toContain(blob.wrappedKey.toString('base64'));
    expect(log).not.toContain(secret);
  });
});
