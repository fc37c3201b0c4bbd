// The refresh lease on the real emulator: one winner under contention, takeover after expiry, extension, fenced commits
// that reject a late holder, and the late reply kept only when nothing newer was stored.
import { DocumentReference, type Firestore, Transaction, WriteBatch } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sealCredentials } from '../../../shared/store/connection-credentials.js';
import { updateConnectionDocument } from '../../../shared/store/connection-change.js';
import { connectionRef, readConnection } from '../../../shared/store/connection-reads.js';
import { claimRefreshLease, commitLateReply, commitRefresh, extendRefreshLease, isLeaseLive } from '../../../shared/store/lease.js';
import { createFirestore } from '../../../shared/store/firestore-client.js';
import { ManualClock } from '../../../shared/time/clock.js';
import { writeConnection } from '../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../support/firestore-test-project.js';
import { startVaultHarness, type VaultHarness } from '../../support/vault-harness.js';

const project = useFirestoreTestProject('lease');
const ttlMs = 30_000;

// A second client stands in for a second broker instance: its own channel, its own transactions.
let otherInstance: Firestore;
let vaults: VaultHarness;
beforeAll(async () => {
  otherInstance = createFirestore(project.config);
  vaults = await startVaultHarness();
});
afterAll(async () => {
  await otherInstance.terminate();
  await vaults?.close();
});

let count = 0;
async function newConnection(): Promise<string> {
  count += 1;
  return writeConnection(project.firestore, vaults.vault, {
    tenantId: 'acme',
    userId: `user-${count}`,
    provider: 'zoom',
    providerAccountId: `account-${count}`,
    credentials: { accessToken: 'at-fixture-not-a-secret', refreshToken: 'rt-fixture-not-a-secret' },
    expiresAtMs: 0,
  });
}

const claimAlways = (holder: string, clock: ManualClock) => ({ holder, ttlMs, clock, decide: () => 'claim' as const });

async function storedLease(connectionId: string) {
  return (await readConnection(project.firestore, connectionId))?.document.lease;
}

describe('isLeaseLive', () => {
  it('is the one rule: a named holder whose time has not run out', () => {
    expect(isLeaseLive(undefined, 10)).toBe(false);
    expect(isLeaseLive({ holder: null, expiresAtMs: 0, version: 3 }, 10)).toBe(false);
    expect(isLeaseLive({ holder: 'a', expiresAtMs: 10, version: 1 }, 10)).toBe(false);
    expect(isLeaseLive({ holder: 'a', expiresAtMs: 11, version: 1 }, 10)).toBe(true);
  });
});

describe('claimRefreshLease', () => {
  it('takes a free lease at version 1 and returns the document it decided on', async () => {
    const clock = new ManualClock();
    const id = await newConnection();

    const result = await claimRefreshLease(project.firestore, id, claimAlways('instance-a', clock));

    expect(result).toMatchObject({ claimed: true, tookOverFrom: null, fence: { holder: 'instance-a', version: 1 } });
    expect(await storedLease(id)).toEqual({ holder: 'instance-a', expiresAtMs: clock.nowMs() + ttlMs, version: 1 });
  });

  it('gives two concurrent claimants exactly one winner, every time', { timeout: 120_000 }, async () => {
    const clock = new ManualClock();
    for (let round = 0; round < 4; round += 1) {
      const id = await newConnection();
      const results = await Promise.all([
        claimRefreshLease(project.firestore, id, claimAlways(`a-${round}`, clock)),
        claimRefreshLease(otherInstance, id, claimAlways(`b-${round}`, clock)),
      ]);
      expect(results.filter((result) => result.claimed)).toHaveLength(1);
      expect(results.filter((result) => !result.claimed)).toEqual([expect.objectContaining({ reason: 'lease_held' })]);
      expect((await storedLease(id))?.version).toBe(1);
    }
  });

  it('refuses a live lease before asking the decision, and returns the decision’s own reason otherwise', async () => {
    const clock = new ManualClock();
    const id = await newConnection();
    await claimRefreshLease(project.firestore, id, claimAlways('instance-a', clock));
    clock.advance(ttlMs - 1);
    let asked = false;
    const held = await claimRefreshLease(project.firestore, id, { holder: 'b', ttlMs, clock, decide: () => ((asked = true), 'claim' as const) });
    expect(held).toMatchObject({ claimed: false, reason: 'lease_held' });
    expect(asked).toBe(false);

    clock.advance(1);
    const skipped = await claimRefreshLease(project.firestore, id, { holder: 'b', ttlMs, clock, decide: () => 'not_due' as const });
    expect(skipped).toMatchObject({ claimed: false, reason: 'not_due' });
    expect(await storedLease(id)).toMatchObject({ holder: 'instance-a', version: 1 });
  });

  it('takes over an expired lease with a higher version and names the holder it took over from', async () => {
    const clock = new ManualClock();
    const id = await newConnection();
    await claimRefreshLease(project.firestore, id, claimAlways('instance-a', clock));
    clock.advance(ttlMs);

    const result = await claimRefreshLease(otherInstance, id, claimAlways('instance-b', clock));

    expect(result).toMatchObject({ claimed: true, tookOverFrom: 'instance-a', fence: { version: 2 } });
  });

  it('says gone for a missing document and creates nothing', async () => {
    const result = await claimRefreshLease(project.firestore, 'conn_never_created', claimAlways('a', new ManualClock()));
    expect(result).toEqual({ claimed: false, reason: 'gone' });
    expect((await connectionRef(project.firestore, 'conn_never_created').get()).exists).toBe(false);
  });

  it('rejects caller mistakes with a TypeError', async () => {
    const id = await newConnection();
    const clock = new ManualClock();
    await expect(claimRefreshLease(project.firestore, id, claimAlways('', clock))).rejects.toThrow(TypeError);
    await expect(claimRefreshLease(project.firestore, id, { ...claimAlways('a', clock), ttlMs: 0 })).rejects.toThrow(TypeError);
  });
});

describe('extendRefreshLease', () => {
  it('pushes the holder’s lease out at the same version, and refuses once it was taken over', async () => {
    const clock = new ManualClock();
    const id = await newConnection();
    const claim = await claimRefreshLease(project.firestore, id, claimAlways('instance-a', clock));
    if (!claim.claimed) throw new Error('expected a claim');
    clock.advance(ttlMs - 1);

    expect(await extendRefreshLease(project.firestore, id, claim.fence, { ttlMs, clock })).toBe(true);
    expect(await storedLease(id)).toEqual({ holder: 'instance-a', expiresAtMs: clock.nowMs() + ttlMs, version: 1 });

    clock.advance(ttlMs);
    await claimRefreshLease(otherInstance, id, claimAlways('instance-b', clock));
    expect(await extendRefreshLease(project.firestore, id, claim.fence, { ttlMs, clock })).toBe(false);
    expect(await storedLease(id)).toMatchObject({ holder: 'instance-b', version: 2 });
  });
});

describe('commitRefresh', () => {
  it('writes the outcome and releases the lease, keeping the version', async () => {
    const clock = new ManualClock();
    const id = await newConnection();
    const claim = await claimRefreshLease(project.firestore, id, claimAlways('instance-a', clock));
    if (!claim.claimed) throw new Error('expected a claim');

    const stored = await commitRefresh(project.firestore, id, claim.fence, () => ({ statusReason: 'written-under-lease' }));

    expect(stored.document).toMatchObject({ statusReason: 'written-under-lease', lease: { holder: null, version: 1 } });
    expect((await readConnection(project.firestore, id))?.document.statusReason).toBe('written-under-lease');
  });

  it('fences out a holder whose lease was taken over (lease_held), and one whose lease was released (conflict)', async () => {
    const clock = new ManualClock();
    const id = await newConnection();
    const stale = await claimRefreshLease(project.firestore, id, claimAlways('instance-a', clock));
    if (!stale.claimed) throw new Error('expected a claim');
    clock.advance(ttlMs);
    const fresh = await claimRefreshLease(otherInstance, id, claimAlways('instance-b', clock));
    if (!fresh.claimed) throw new Error('expected a claim');

    await expect(commitRefresh(project.firestore, id, stale.fence, () => ({ statusReason: 'stale' }))).rejects.toMatchObject({ code: 'lease_held' });
    await commitRefresh(otherInstance, id, fresh.fence, () => ({}));
    await expect(commitRefresh(otherInstance, id, fresh.fence, () => ({ statusReason: 'twice' }))).rejects.toMatchObject({ code: 'conflict' });
    expect((await readConnection(project.firestore, id))?.document.statusReason).toBeNull();
  });

  it('still accepts the holder of an expired lease nobody took over: no newer writer exists', async () => {
    const clock = new ManualClock();
    const id = await newConnection();
    const claim = await claimRefreshLease(project.firestore, id, claimAlways('instance-a', clock));
    if (!claim.claimed) throw new Error('expected a claim');
    clock.advance(ttlMs * 2);
    await commitRefresh(project.firestore, id, claim.fence, () => ({ statusReason: 'late-but-unopposed' }));
    expect((await readConnection(project.firestore, id))?.document.statusReason).toBe('late-but-unopposed');
  });
});

describe('commitLateReply', () => {
  it('keeps a late reply while the credentials are the seal it refreshed from, and refuses once newer ones were stored', async () => {
    const clock = new ManualClock();
    const id = await newConnection();
    const stale = await claimRefreshLease(project.firestore, id, claimAlways('instance-a', clock));
    if (!stale.claimed) throw new Error('expected a claim');
    clock.advance(ttlMs);
    const fresh = await claimRefreshLease(otherInstance, id, claimAlways('instance-b', clock));
    if (!fresh.claimed) throw new Error('expected a claim');

    const kept = await commitLateReply(project.firestore, id, stale.fence, () => ({ statusReason: 'late-reply' }));
    // The taker-over's lease is untouched: it can still commit its own outcome.
    expect(kept.document.lease).toMatchObject({ holder: 'instance-b', version: 2 });

    const newer = await sealCredentials(vaults.vault, { accessToken: 'at-newer-not-a-secret' }, { connectionId: id, tenantId: 'acme' });
    await commitRefresh(otherInstance, id, fresh.fence, () => ({ credentials: newer }));
    await expect(commitLateReply(project.firestore, id, stale.fence, () => ({ statusReason: 'too-late' }))).rejects.toMatchObject({ code: 'conflict' });
    expect((await readConnection(project.firestore, id))?.document.statusReason).toBe('late-reply');
  });
});

describe('conditional writes on the copy in hand', () => {
  /** Document reads through the client's public read paths (a plain get, a transaction's get), while `work` runs. */
  async function readsDuring<T>(work: () => Promise<T>): Promise<{ result: T; reads: number }> {
    const plain = vi.spyOn(DocumentReference.prototype, 'get');
    const transactional = vi.spyOn(Transaction.prototype, 'get');
    try {
      const result = await work();
      return { result, reads: plain.mock.calls.length + transactional.mock.calls.length };
    } finally {
      plain.mockRestore();
      transactional.mockRestore();
    }
  }

  it('claims, extends and commits on a current copy without reading the document once', async () => {
    const clock = new ManualClock();
    const id = await newConnection();
    const seen = await readConnection(project.firestore, id);

    const { result: stored, reads } = await readsDuring(async () => {
      const claim = await claimRefreshLease(project.firestore, id, { ...claimAlways('instance-a', clock), seen });
      if (!claim.claimed) throw new Error('expected a claim');
      clock.advance(ttlMs / 2);
      expect(await extendRefreshLease(project.firestore, id, claim.fence, { ttlMs, clock })).toBe(true);
      return commitRefresh(project.firestore, id, claim.fence, () => ({ statusReason: 'read-free' }));
    });

    expect(reads).toBe(0);
    expect(stored.document).toMatchObject({ statusReason: 'read-free', lease: { holder: null, version: 1 } });
    expect((await readConnection(project.firestore, id))?.document).toMatchObject({ statusReason: 'read-free', lease: { holder: null, version: 1 } });
  });

  it('judges a copy that changed since it was read afresh: the claim reads again and decides on what is stored', async () => {
    const clock = new ManualClock();
    const id = await newConnection();
    const seen = await readConnection(project.firestore, id);
    // Another instance refreshed it meanwhile: on the copy in hand it is still due, as stored it is not.
    await otherInstance.runTransaction(async (transaction) => {
      updateConnectionDocument(transaction, connectionRef(otherInstance, id), { nextRefreshAtMs: clock.nowMs() + 3_600_000 });
    });

    const result = await claimRefreshLease(project.firestore, id, {
      holder: 'instance-a',
      ttlMs,
      clock,
      seen,
      decide: (connection) => ((connection.document.nextRefreshAtMs ?? 0) <= clock.nowMs() ? 'claim' : 'already_refreshed'),
    });

    expect(result).toMatchObject({ claimed: false, reason: 'already_refreshed' });
    expect(await storedLease(id)).toBeUndefined();
  });

  it('commits on the stored document when someone else wrote after the claim, keeping their change', async () => {
    const clock = new ManualClock();
    const id = await newConnection();
    const claim = await claimRefreshLease(project.firestore, id, claimAlways('instance-a', clock));
    if (!claim.claimed) throw new Error('expected a claim');
    // A health check lands between the claim and the commit: the holder's own copy no longer is the stored version.
    const health = { status: 'unhealthy', checkedAtMs: clock.nowMs(), latencyMs: null, errorCode: 'identity_refused' } as const;
    await otherInstance.runTransaction(async (transaction) => {
      updateConnectionDocument(transaction, connectionRef(otherInstance, id), { health });
    });

    const { result: stored, reads } = await readsDuring(() =>
      commitRefresh(project.firestore, id, claim.fence, (current) => ({ statusReason: `saw-${current.document.health.status}` })),
    );

    expect(reads).toBe(1);
    expect(stored.document).toMatchObject({ statusReason: 'saw-unhealthy', health, lease: { holder: null, version: 1 } });
    expect((await readConnection(project.firestore, id))?.document).toMatchObject({ statusReason: 'saw-unhealthy', health });
  });

  /** Claims a fresh connection for each holder, all on the copy in hand. */
  async function claimedConnections(clock: ManualClock, holders: readonly string[]) {
    return Promise.all(
      holders.map(async (holder) => {
        const id = await newConnection();
        const claim = await claimRefreshLease(project.firestore, id, claimAlways(holder, clock));
        if (!claim.claimed) throw new Error('expected a claim');
        return { id, fence: claim.fence };
      }),
    );
  }

  it('commits the outcomes issued in one turn together, in one commit, reading nothing', async () => {
    const clock = new ManualClock();
    const held = await claimedConnections(clock, ['a', 'b', 'c', 'd', 'e']);
    const commits = vi.spyOn(WriteBatch.prototype, 'commit');
    try {
      const { reads } = await readsDuring(() => Promise.all(held.map(({ id, fence }) => commitRefresh(project.firestore, id, fence, () => ({ statusReason: `by-${fence.holder}` })))));
      expect(reads).toBe(0);
      expect(commits).toHaveBeenCalledTimes(1);
    } finally {
      commits.mockRestore();
    }
    for (const { id, fence } of held) {
      expect((await readConnection(project.firestore, id))?.document).toMatchObject({ statusReason: `by-${fence.holder}`, lease: { holder: null, version: 1 } });
    }
  });

  it('lands every outcome of a shared commit one of whose documents changed: that one on the stored document, the others as built', async () => {
    const clock = new ManualClock();
    const held = await claimedConnections(clock, ['a', 'b', 'c', 'd', 'e']);
    // A health check lands on the third between its claim and the commit: its condition fails, and with it the commit.
    const health = { status: 'unhealthy', checkedAtMs: clock.nowMs(), latencyMs: null, errorCode: 'identity_refused' } as const;
    const changed = held[2] as (typeof held)[number];
    await otherInstance.runTransaction(async (transaction) => {
      updateConnectionDocument(transaction, connectionRef(otherInstance, changed.id), { health });
    });

    const commits = vi.spyOn(WriteBatch.prototype, 'commit');
    let stored: Awaited<ReturnType<typeof commitRefresh>>[];
    try {
      const during = await readsDuring(() =>
        Promise.all(held.map(({ id, fence }) => commitRefresh(project.firestore, id, fence, (current) => ({ statusReason: `${fence.holder}-saw-${current.document.health.status}` })))),
      );
      stored = during.result;
      // One commit was tried for all five and refused whole; none can tell whose condition failed, so each read again.
      expect(commits).toHaveBeenCalledTimes(1);
      expect(during.reads).toBe(5);
    } finally {
      commits.mockRestore();
    }

    for (const [index, { id, fence }] of held.entries()) {
      const expected = index === 2 ? { statusReason: 'c-saw-unhealthy', health } : { statusReason: `${fence.holder}-saw-unknown` };
      expect(stored[index]?.document).toMatchObject({ ...expected, lease: { holder: null, version: 1 } });
      expect((await readConnection(project.firestore, id))?.document).toMatchObject({ ...expected, lease: { holder: null, version: 1 } });
    }
  });
});
