// Prepared seals: the KMS half of a seal done ahead, so a write that must not fail needs no KMS at the end.
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import { type VaultHarness, startVaultHarness } from '../../support/vault-harness.js';

const context = { collection: 'connections', documentId: 'conn-prepared', field: 'credentials', tenantId: 'acme' };

let h: VaultHarness;
beforeAll(async () => {
  h = await startVaultHarness({ kmsMaxAttempts: 1 });
});
afterAll(async () => {
  await h.close();
});

describe('prepareSeal', () => {
  it('wraps the data key up front; sealing later makes no KMS call and opens anywhere', async () => {
    h.kms.resetCounters();
    const prepared = await h.vault.prepareSeal(context);
    expect(h.kms.calls.Encrypt).toBe(1);
    h.kms.faults.failAll('Encrypt', status.UNAVAILABLE);
    h.kms.faults.failAll('Decrypt', status.UNAVAILABLE);
    try {
      const blob = prepared.seal('rotated-refresh-token-value');
      expect(h.kms.calls.Encrypt).toBe(1);
      // Warm in this instance: opens with KMS still down.
      expect((await h.vault.open(blob, context)).toString('utf8')).toBe('rotated-refresh-token-value');
      h.kms.faults.clear();
      expect((await h.newVault().open(blob, context)).toString('utf8')).toBe('rotated-refresh-token-value');
      await expect(h.newVault().open(blob, { ...context, documentId: 'elsewhere' })).rejects.toMatchObject({ code: 'crypto_integrity' });
    } finally {
      h.kms.faults.clear();
    }
  });

  it('seals exactly once: a data key is never used for two blobs', async () => {
    const prepared = await h.vault.prepareSeal(context);
    prepared.seal('first');
    expect(() => prepared.seal('second')).toThrow(TypeError);
    prepared.discard();
    const discarded = await h.vault.prepareSeal(context);
    discarded.discard();
    expect(() => discarded.seal('late')).toThrow(TypeError);
  });

  it('fails up front, typed and retryable, when KMS is down', async () => {
    h.kms.faults.failAll('Encrypt', status.UNAVAILABLE);
    try {
      const error = await h.vault.prepareSeal(context).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isBrokerError(error, 'kms_unavailable')).toBe(true);
    } finally {
      h.kms.faults.clear();
    }
  });
});
