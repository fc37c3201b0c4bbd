// Key re-wrap after a KMS rotation through the admin API: every wrapped key moves, no ciphertext changes, and an interrupted job resumes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createVault } from '../../shared/crypto/vault.js';
import { loadConfig } from '../../shared/config/config.js';
import { connectionDocumentSchema, type ConnectionDocument } from '../../shared/store/connection-document.js';
import { credentialsSealContext, openCredentials } from '../../shared/store/connection-credentials.js';
import { systemClock } from '../../shared/time/clock.js';
import { writeConnection } from '../support/connection-fixtures.js';
import { type AdminHarness, KEY_NAME, OPERATOR, startAdminHarness } from './admin-harness.js';

let h: AdminHarness;
beforeAll(async () => {
  h = await startAdminHarness('admin-rewrap');
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(async () => {
  for (const collection of await h.firestore.listCollections()) await h.firestore.recursiveDelete(collection);
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${h.origin}/admin${path}`, {
    method: 'POST',
    headers: { ...(await h.iapHeaders()), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function get(path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${h.origin}/admin${path}`, { headers: await h.iapHeaders() });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Writes `count` live connections (sealed under the current primary) and returns their ids. */
async function seedConnections(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 20) {
    const chunk = Array.from({ length: Math.min(20, count - start) }, (_, offset) => start + offset);
    ids.push(
      ...(await Promise.all(
        chunk.map((index) =>
          writeConnection(h.firestore, h.vault, {
            tenantId: `tenant-${index % 7}`,
            userId: `user-${index}`,
            provider: 'slack',
            providerAccountId: `T${String(index).padStart(5, '0')}`,
            credentials: { accessToken: `xoxb-access-${index}-${'a'.repeat(24)}`, refreshToken: `xoxe-refresh-${index}-${'r'.repeat(24)}` },
            expiresAtMs: Date.now() + 3600_000,
          }),
        ),
      )),
    );
  }
  return ids;
}

async function snapshotAll(): Promise<Map<string, ConnectionDocument>> {
  const snapshot = await h.firestore.collection('connections').get();
  return new Map(snapshot.docs.map((doc) => [doc.id, connectionDocumentSchema.parse(doc.data())]));
}

describe('re-wrap after a KMS key rotation', () => {
  it('moves every wrapped key of 200 connections to the new primary version without changing any ciphertext', async () => {
    const ids = await seedConnections(200);
    const revoked = ids.slice(0, 3);
    for (const id of revoked) await post(`/api/connections/${id}/revoke`, {});
    const before = await snapshotAll();
    const v2 = h.kms.rotate(KEY_NAME);

    const { status, json } = await post('/api/rewrap', { batchSize: 50 });
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({
      status: 'completed',
      total: 200,
      counts: { scanned: 200, rewrapped: 197, alreadyCurrent: 0, noCredentials: 3, changedMeanwhile: 0, failed: 0 },
      failures: [],
      keyVersions: [v2],
      startedBy: OPERATOR,
    });

    const after = await snapshotAll();
    const cold = createVault(loadConfig({ GOOGLE_CLOUD_PROJECT: 'admin-rewrap', KMS_KEY_NAME: KEY_NAME, KMS_API_ENDPOINT: h.kms.endpoint }), { clock: systemClock });
    try {
      for (const [id, old] of before) {
        const now = after.get(id) as ConnectionDocument;
        expect(now.updatedAtMs, 'a re-wrap does not move the refresh fence').toBe(old.updatedAtMs);
        if (old.credentials === null) {
          expect(now.credentials).toBeNull();
          continue;
        }
        const blob = now.credentials;
        expect(blob?.kmsKeyVersion).toBe(v2);
        expect(blob?.wrappedKey.equals(old.credentials.wrappedKey)).toBe(false);
        expect(blob?.ciphertext.equals(old.credentials.ciphertext)).toBe(true);
        expect(blob?.iv.equals(old.credentials.iv)).toBe(true);
        expect(blob?.tag.equals(old.credentials.tag)).toBe(true);
      }
      // The moved keys open the very same tokens, from a process that never saw them.
      const sample = ids[150] as string;
      const doc = after.get(sample) as ConnectionDocument;
      const credentials = await openCredentials(cold, doc.credentials as NonNullable<ConnectionDocument['credentials']>, { connectionId: sample, tenantId: doc.tenantId });
      expect(credentials.accessToken).toBe(`xoxb-access-150-${'a'.repeat(24)}`);
      expect(credentialsSealContext(sample, doc.tenantId).documentId).toBe(sample);
    } finally {
      await cold.close();
    }

    const progress = await get(`/api/rewrap/${json.jobId as string}`);
    expect(progress.json).toMatchObject({ jobId: json.jobId, status: 'completed', counts: { rewrapped: 197 } });

    // Running it again is harmless: a new job finds every key current and asks KMS to encrypt nothing.
    h.kms.resetCounters();
    const again = await post('/api/rewrap', {});
    expect(again.json).toMatchObject({ status: 'completed', counts: { scanned: 200, rewrapped: 0, alreadyCurrent: 197, noCredentials: 3 } });
    expect(h.kms.calls.Encrypt).toBe(0);
    const audit = (await h.firestore.collection('auditLog').where('action', '==', 'admin.action').get()).docs.map((d) => d.data().reason as string);
    expect(audit.filter((reason) => reason.startsWith('runRewrap:'))).toHaveLength(2);
  });

  it('stops between batches, refuses a second worker while the first holds the job, and resumes from its cursor', async () => {
    const ids = await seedConnections(120);
    const v2 = h.kms.rotate(KEY_NAME);

    const first = await post('/api/rewrap', { batchSize: 25, maxBatches: 1 });
    expect(first.json).toMatchObject({ status: 'running', total: 120, counts: { scanned: 25, rewrapped: 25 } });
    const jobId = first.json.jobId as string;

    // A run that died mid-batch: it moved a few keys of the next batch and still holds the job's lease.
    const sorted = [...ids].sort();
    const movedByDeadRun = sorted.slice(25, 30);
    const fresh = createVault(loadConfig({ GOOGLE_CLOUD_PROJECT: 'admin-rewrap', KMS_KEY_NAME: KEY_NAME, KMS_API_ENDPOINT: h.kms.endpoint }), { clock: systemClock });
    try {
      for (const id of movedByDeadRun) {
        const ref = h.firestore.collection('connections').doc(id);
        const doc = connectionDocumentSchema.parse((await ref.get()).data());
        const blob = doc.credentials as NonNullable<ConnectionDocument['credentials']>;
        await ref.update({ credentials: await fresh.rewrap(blob, credentialsSealContext(id, doc.tenantId)) });
      }
    } finally {
      await fresh.close();
    }
    const jobRef = h.firestore.collection('rewrapJobs').doc(jobId);
    await jobRef.update({ lease: { holder: 'rewrap-run/dead', expiresAtMs: Date.now() + 60_000 } });
    const busy = await post('/api/rewrap', { jobId, batchSize: 25 });
    expect(busy.status).toBe(409);
    expect(busy.json.code).toBe('lease_held');

    // Its lease runs out: the next call (naming no job) takes the unfinished one over, from the saved cursor.
    await jobRef.update({ lease: { holder: 'rewrap-run/dead', expiresAtMs: Date.now() - 1 } });
    const second = await post('/api/rewrap', { batchSize: 25, maxBatches: 2 });
    expect(second.json).toMatchObject({ jobId, status: 'running', counts: { scanned: 75, rewrapped: 70, alreadyCurrent: 5 } });
    const progress = await get(`/api/rewrap/${jobId}`);
    expect(progress.json.counts).toEqual(second.json.counts);

    const last = await post('/api/rewrap', { jobId, batchSize: 25 });
    expect(last.json).toMatchObject({ jobId, status: 'completed', counts: { scanned: 120, rewrapped: 115, alreadyCurrent: 5, failed: 0 } });
    expect(last.json.completedAt).toEqual(expect.any(String));
    const versions = new Set([...(await snapshotAll()).values()].map((doc) => doc.credentials?.kmsKeyVersion));
    expect([...versions]).toEqual([v2]);
  });

  it('answers 404 for an unknown job and refuses malformed requests', async () => {
    expect((await get('/api/rewrap/rewrap_00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await post('/api/rewrap', { batchSize: 0 })).status).toBe(400);
    expect((await post('/api/rewrap', { jobId: 'nope' })).status).toBe(400);
    expect((await post('/api/rewrap', { everything: true })).status).toBe(400);
  });
});
