// The lease on the real emulator: one winner under contention, takeover after expiry, and fenced writes that reject a late holder.
import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerError } from '../../../shared/errors/broker-error.js';
import { createFirestore } from '../../../shared/store/firestore-client.js';
import { claimLease, leaseFieldSchema, releaseLease, writeIfLeaseVersion } from '../../../shared/store/lease.js';
import { ManualClock } from '../../../shared/time/clock.js';
import { useFirestoreTestProject } from '../../support/firestore-test-project.js';

const project = useFirestoreTestProject('lease');
const ttlMs = 30_000;

// A second client stands in for a second broker instance: its own channel, its own transactions.
let otherInstance: Firestore;
beforeAll(() => {
  otherInstance = createFirestore(project.config);
});
afterAll(async () => {
  await otherInstance.terminate();
});

let documentCount = 0;
async function newConnectionDocument(data: Record<string, unknown> = { status: 'active' }): Promise<DocumentReference> {
  documentCount += 1;
  const ref = project.firestore.collection('connections').doc(`connection-${documentCount}`);
  await ref.set(data);
  return ref;
}

async function storedLease(ref: DocumentReference) {
  return leaseFieldSchema.parse((await ref.get()).data()).lease;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('claimLease', () => {
  it('takes a free lease at version 1 and stores holder and expiry', async () => {
    const clock = new ManualClock();
    const ref = await newConnectionDocument();

    const result = await claimLease(project.firestore, ref, { holder: 'instance-a', ttlMs, clock });

    expect(result).toEqual({ claimed: true, version: 1, expiresAtMs: clock.nowMs() + ttlMs });
    expect(await storedLease(ref)).toEqual({ holder: 'instance-a', expiresAtMs: clock.nowMs() + ttlMs, version: 1 });
    expect((await ref.get()).get('status')).toBe('active');
  });

  it('gives two concurrent claimants exactly one winner, every time', { timeout: 120_000 }, async () => {
    const clock = new ManualClock();
    for (let round = 0; round < 4; round += 1) {
      const ref = await newConnectionDocument();
      const [first, second] = await Promise.all([
        claimLease(project.firestore, ref, { holder: `a-${round}`, ttlMs, clock }),
        claimLease(otherInstance, otherInstance.doc(ref.path), {
          holder: `b-${round}`,
          ttlMs,
          clock,
        }),
      ]);

      const winners = [first, second].filter((result) => result.claimed);
      expect(winners).toHaveLength(1);
      const winner = first.claimed ? `a-${round}` : `b-${round}`;
      const loser = first.claimed ? second : first;
      expect(loser).toEqual({ claimed: false, holder: winner, expiresAtMs: clock.nowMs() + ttlMs });
      expect(await storedLease(ref)).toEqual({ holder: winner, expiresAtMs: clock.nowMs() + ttlMs, version: 1 });
    }
  });

  it('refuses a live lease held by someone else', async () => {
    const clock = new ManualClock();
    const ref = await newConnectionDocument();
    await claimLease(project.firestore, ref, { holder: 'instance-a', ttlMs, clock });
    clock.advance(ttlMs - 1);

    const result = await claimLease(project.firestore, ref, { holder: 'instance-b', ttlMs, clock });

    expect(result).toEqual({ claimed: false, holder: 'instance-a', expiresAtMs: clock.nowMs() + 1 });
  });

  it('lets a new holder take over an expired lease with a higher version', async () => {
    const clock = new ManualClock();
    const ref = await newConnectionDocument();
    await claimLease(project.firestore, ref, { holder: 'instance-a', ttlMs, clock });
    clock.advance(ttlMs);

    const result = await claimLease(otherInstance, otherInstance.doc(ref.path), { holder: 'instance-b', ttlMs, clock });

    expect(result).toEqual({ claimed: true, version: 2, expiresAtMs: clock.nowMs() + ttlMs });
    expect(await storedLease(ref)).toMatchObject({ holder: 'instance-b', version: 2 });
  });

  it('renews the holder’s own live lease without moving the version', async () => {
    const clock = new ManualClock();
    const ref = await newConnectionDocument();
    await claimLease(project.firestore, ref, { holder: 'instance-a', ttlMs, clock });
    clock.advance(10_000);

    const renewed = await claimLease(project.firestore, ref, { holder: 'instance-a', ttlMs, clock });

    expect(renewed).toEqual({ claimed: true, version: 1, expiresAtMs: clock.nowMs() + ttlMs });
  });

  it('reports a missing document as not_found instead of creating it', async () => {
    const ref = project.firestore.collection('connections').doc('never-created');

    const error = await rejection(claimLease(project.firestore, ref, { holder: 'a', ttlMs, clock: new ManualClock() }));

    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('not_found');
    expect((await ref.get()).exists).toBe(false);
  });

  it('rejects caller mistakes with a TypeError', async () => {
    const ref = await newConnectionDocument();
    const clock = new ManualClock();
    await expect(claimLease(project.firestore, ref, { holder: '', ttlMs, clock })).rejects.toThrow(TypeError);
    await expect(claimLease(project.firestore, ref, { holder: 'a', ttlMs: 0, clock })).rejects.toThrow(TypeError);
  });
});

describe('writeIfLeaseVersion', () => {
  it('applies the write while the version is current', async () => {
    const clock = new ManualClock();
    const ref = await newConnectionDocument();
    const claim = await claimLease(project.firestore, ref, { holder: 'instance-a', ttlMs, clock });
    if (!claim.claimed) throw new Error('setup: claim failed');

    await writeIfLeaseVersion(project.firestore, ref, claim.version, { accessToken: 'sealed-a', 'refresh.count': 1 });

    const data = (await ref.get()).data();
    expect(data).toMatchObject({ accessToken: 'sealed-a', refresh: { count: 1 }, status: 'active' });
    expect(await storedLease(ref)).toMatchObject({ holder: 'instance-a', version: 1 });
  });

  it('rejects a stale holder after a takeover and keeps the new holder’s data', async () => {
    const clock = new ManualClock();
    const ref = await newConnectionDocument();
    const stale = await claimLease(project.firestore, ref, { holder: 'instance-a', ttlMs, clock });
    if (!stale.claimed) throw new Error('setup: first claim failed');
    clock.advance(ttlMs + 1);
    const fresh = await claimLease(otherInstance, otherInstance.doc(ref.path), { holder: 'instance-b', ttlMs, clock });
    if (!fresh.claimed) throw new Error('setup: takeover failed');
    await writeIfLeaseVersion(otherInstance, otherInstance.doc(ref.path), fresh.version, { refreshToken: 'rotated-by-b' });

    const error = await rejection(
      writeIfLeaseVersion(project.firestore, ref, stale.version, { refreshToken: 'stale-from-a' }),
    );

    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('lease_held');
    expect((error as BrokerError).details).toMatchObject({ version: 1, currentVersion: 2 });
    expect((await ref.get()).get('refreshToken')).toBe('rotated-by-b');
    expect(await storedLease(ref)).toMatchObject({ holder: 'instance-b', version: 2 });
  });

  it('still accepts the holder’s write after expiry when nobody took over', async () => {
    const clock = new ManualClock();
    const ref = await newConnectionDocument();
    const claim = await claimLease(project.firestore, ref, { holder: 'instance-a', ttlMs, clock });
    if (!claim.claimed) throw new Error('setup: claim failed');
    clock.advance(ttlMs * 2);

    await writeIfLeaseVersion(project.firestore, ref, claim.version, { refreshToken: 'late-but-unopposed' });

    expect((await ref.get()).get('refreshToken')).toBe('late-but-unopposed');
  });

  it('refuses an update that would change the lease itself', async () => {
    const ref = await newConnectionDocument();
    await expect(writeIfLeaseVersion(project.firestore, ref, 1, { lease: null })).rejects.toThrow(TypeError);
    await expect(writeIfLeaseVersion(project.firestore, ref, 1, { 'lease.version': 9 })).rejects.toThrow(TypeError);
  });
});

describe('releaseLease', () => {
  it('releases at the current version; the fence never goes back', async () => {
    const clock = new ManualClock();
    const ref = await newConnectionDocument();
    const claim = await claimLease(project.firestore, ref, { holder: 'instance-a', ttlMs, clock });
    if (!claim.claimed) throw new Error('setup: claim failed');

    expect(await releaseLease(project.firestore, ref, { holder: 'instance-a', version: claim.version })).toBe(true);
    expect(await storedLease(ref)).toEqual({ holder: null, expiresAtMs: 0, version: 1 });

    // The released holder can no longer write, and the next claim moves past its version.
    const late = await rejection(writeIfLeaseVersion(project.firestore, ref, claim.version, { refreshToken: 'late' }));
    expect((late as BrokerError).code).toBe('conflict');
    const next = await claimLease(project.firestore, ref, { holder: 'instance-b', ttlMs, clock });
    expect(next).toMatchObject({ claimed: true, version: 2 });
    expect((await ref.get()).get('refreshToken')).toBeUndefined();
  });

  it('does nothing for a holder whose lease was taken over', async () => {
    const clock = new ManualClock();
    const ref = await newConnectionDocument();
    await claimLease(project.firestore, ref, { holder: 'instance-a', ttlMs, clock });
    clock.advance(ttlMs);
    await claimLease(project.firestore, ref, { holder: 'instance-b', ttlMs, clock });

    expect(await releaseLease(project.firestore, ref, { holder: 'instance-a', version: 1 })).toBe(false);
    expect(await storedLease(ref)).toEqual({ holder: 'instance-b', expiresAtMs: clock.nowMs() + ttlMs, version: 2 });
  });
});
