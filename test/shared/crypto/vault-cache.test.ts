// The unwrapped-key cache: warm opens make no KMS call, cold opens share one Decrypt, forgotten keys are gone.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import { type VaultHarness, startVaultHarness } from '../../support/vault-harness.js';

const context = { collection: 'connections', documentId: 'conn-3', field: 'credentials', tenantId: 'acme' };
const secret = 'access-and-refresh-token';

let h: VaultHarness;
beforeEach(async () => {
  h = await startVaultHarness();
});
afterEach(async () => {
  await h.close();
});

const totalCalls = (calls: Readonly<Record<string, number>>): number =>
  Object.values(calls).reduce((sum, count) => sum + count, 0);

describe('warm and cold opens', () => {
  it('after warm-up, 1,000 opens make zero KMS calls', async () => {
    const blob = await h.vault.seal(secret, context);
    const vault = h.newVault();
    await vault.open(blob, context);
    h.kms.resetCounters();
    const started = performance.now();
    for (let i = 0; i < 1000; i++) expect((await vault.open(blob, context)).toString()).toBe(secret);
    const perOpenMs = (performance.now() - started) / 1000;
    expect(totalCalls(h.kms.calls)).toBe(0);
    process.stderr.write(`[vault] warm open: ${perOpenMs.toFixed(3)} ms each, 0 KMS calls for 1,000 opens\n`);
  });

  it('a blob just sealed opens warm in the same instance', async () => {
    const blob = await h.vault.seal(secret, context);
    h.kms.resetCounters();
    await h.vault.open(blob, context);
    expect(totalCalls(h.kms.calls)).toBe(0);
  });

  it('20 concurrent cold opens of one blob make exactly one Decrypt', async () => {
    const blob = await h.vault.seal(secret, context);
    const vault = h.newVault();
    h.kms.resetCounters();
    h.kms.faults.setLatency('Decrypt', 50);
    const opened = await Promise.all(Array.from({ length: 20 }, () => vault.open(blob, context)));
    expect(opened.map((plaintext) => plaintext.toString())).toEqual(Array(20).fill(secret));
    expect(h.kms.calls.Decrypt).toBe(1);
    await vault.open(blob, context);
    expect(h.kms.calls.Decrypt).toBe(1);
  });

  it('concurrent opens in the wrong context do not share the right one’s Decrypt (or its failure)', async () => {
    const blob = await h.vault.seal(secret, context);
    const vault = h.newVault();
    h.kms.resetCounters();
    const [wrong, right] = await Promise.allSettled([
      vault.open(blob, { ...context, tenantId: 'globex' }),
      vault.open(blob, context),
    ]);
    expect(wrong.status === 'rejected' && isBrokerError(wrong.reason, 'crypto_integrity')).toBe(true);
    expect(right.status === 'fulfilled' && right.value.toString()).toBe(secret);
    expect(h.kms.calls.Decrypt).toBe(2);
  });

  it('honours the cache size: the least recently used key is unwrapped again', async () => {
    const vault = h.newVault({ cacheMaxEntries: 2 });
    const blobs = await Promise.all(
      ['a', 'b', 'c'].map((id) => vault.seal(`secret-${id}`, { ...context, documentId: id })),
    );
    h.kms.resetCounters();
    await vault.open(blobs[2]!, { ...context, documentId: 'c' });
    await vault.open(blobs[1]!, { ...context, documentId: 'b' });
    expect(h.kms.calls.Decrypt).toBe(0);
    await vault.open(blobs[0]!, { ...context, documentId: 'a' });
    expect(h.kms.calls.Decrypt).toBe(1);
  });

  it('honours the TTL: after it, the next open asks KMS again', async () => {
    const vault = h.newVault({ cacheTtlMs: 30_000 });
    const blob = await vault.seal(secret, context);
    h.kms.resetCounters();
    h.clock.advance(29_999);
    await vault.open(blob, context);
    expect(h.kms.calls.Decrypt).toBe(0);
    h.clock.advance(1);
    await vault.open(blob, context);
    expect(h.kms.calls.Decrypt).toBe(1);
  });

  it('with the cache disabled, every open unwraps', async () => {
    const vault = h.newVault({ cacheMaxEntries: 0 });
    const blob = await vault.seal(secret, context);
    h.kms.resetCounters();
    await vault.open(blob, context);
    await vault.open(blob, context);
    expect(h.kms.calls.Decrypt).toBe(2);
  });
});

describe('forgetting a record (crypto-shredding)', () => {
  it('drops the cached key: the next open of a retained copy asks KMS', async () => {
    const blob = await h.vault.seal(secret, context);
    const retainedCopy = structuredClone(blob);
    h.kms.resetCounters();
    await h.vault.open(blob, context);
    expect(h.kms.calls.Decrypt).toBe(0);
    h.vault.forget(blob);
    expect((await h.vault.open(retainedCopy, context)).toString()).toBe(secret);
    expect(h.kms.calls.Decrypt).toBe(1);
  });

  it('a key forgotten while its unwrap is in flight is not cached when it arrives', async () => {
    const blob = await h.vault.seal(secret, context);
    const vault = h.newVault();
    h.kms.faults.setLatency('Decrypt', 50);
    h.kms.resetCounters();
    const opening = vault.open(blob, context);
    vault.forget(blob);
    expect((await opening).toString()).toBe(secret);
    await vault.open(blob, context);
    expect(h.kms.calls.Decrypt).toBe(2);
  });

  it('once the wrapped key is removed from the record, nothing opens it, and KMS is not asked', async () => {
    const blob = await h.vault.seal(secret, context);
    h.vault.forget(blob);
    const { wrappedKey: _removed, ...shredded } = blob;
    h.kms.resetCounters();
    const error = await h.vault.open(shredded, context).catch((e: unknown) => e);
    expect(isBrokerError(error, 'crypto_integrity')).toBe(true);
    expect(h.kms.calls.Decrypt).toBe(0);
  });
});
