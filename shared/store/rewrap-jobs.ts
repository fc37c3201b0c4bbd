// Re-wrap jobs in `rewrapJobs`: the job document (status, counts, cursor, the lease of the one run working on it) and
// the transactions that claim it, save a batch under its lease and release it; plus the connection reads and the
// compare-and-set write a re-wrap makes. The use case (shared/usecases/admin/rewrap-job.ts) decides what to re-wrap.
//
// Why the writes are as they are:
// - A re-wrapped key commits in a transaction that re-reads the connection and writes only if its sealed blob is
//   byte-for-byte the one re-wrapped: a refresh or reconnect that re-sealed it meanwhile (under the primary
//   already) wins. Only `credentials` changes — not `updatedAtMs`, which a refresh in flight uses as its write
//   fence: moving it would make that refresh drop a rotated refresh token it cannot get back.
// - Counts are saved with the cursor, once per batch. A run that dies mid-batch leaves that batch to the next
//   run, which finds the keys it had already moved current: every connection is counted exactly once.
// - One worker at a time: a run holds the job's lease, renewed at each batch; a dead run's lease runs out.
import type { Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import type { SealedBlob } from '../crypto/vault.js';
import { BrokerError } from '../errors/broker-error.js';
import { collectionNames } from './collections.js';
import { countAllConnections } from './connection-counts.js';
import { updateConnectionDocument } from './connection-change.js';
import { connectionRef, parseConnectionSnapshot, type StoredConnection } from './connection-reads.js';
import { declareQuery, documentNameField } from './query-shape.js';

const JOB_LEASE_MS = 60_000;
const MAX_RECORDED_FAILURES = 100;

const countSchema = z.number().int().nonnegative();

export const rewrapCountsSchema = z
  .object({
    scanned: countSchema,
    rewrapped: countSchema,
    alreadyCurrent: countSchema,
    /** Revoked (crypto-shredded) connections: nothing to re-wrap. */
    noCredentials: countSchema,
    /** Re-sealed by a refresh or reconnect while the job worked on them: already under the new primary. */
    changedMeanwhile: countSchema,
    failed: countSchema,
  })
  .strict();

export const rewrapJobStatuses = ['running', 'completed'] as const;

const rewrapJobDocumentSchema = z
  .object({
    status: z.enum(rewrapJobStatuses),
    total: z.number().int().nonnegative(),
    counts: rewrapCountsSchema,
    failures: z.array(z.object({ connectionId: z.string(), errorCode: z.string() }).strict()),
    keyVersions: z.array(z.string()),
    /** The last connection id whose batch is done; null before the first batch. */
    cursor: z.string().nullable(),
    lease: z.object({ holder: z.string().nullable(), expiresAtMs: z.number().int() }).strict(),
    startedBy: z.string(),
    startedAtMs: z.number().int(),
    updatedAtMs: z.number().int(),
    completedAtMs: z.number().int().nullable(),
  })
  .strict();
export type RewrapJobDocument = z.infer<typeof rewrapJobDocumentSchema>;
type Counts = RewrapJobDocument['counts'];
export type RewrapOutcome = Exclude<keyof Counts, 'scanned'>;

/** How one connection fared in a batch, as the job's counts and failures record it. */
export interface RewrapResult {
  readonly connectionId: string;
  readonly outcome: RewrapOutcome;
  readonly keyVersion?: string;
  readonly errorCode?: string;
}

const jobRef = (firestore: Firestore, jobId: string) => firestore.collection(collectionNames.rewrapJobs).doc(jobId);

export const rewrapJobsWithStatus = declareQuery({
  name: 'rewrapJobsWithStatus',
  collection: collectionNames.rewrapJobs,
  filters: [{ field: 'status', operator: '==' }],
});

export const connectionsById = declareQuery({
  name: 'connectionsById',
  collection: collectionNames.connections,
  orders: [{ field: documentNameField, direction: 'asc' }],
});

function parseJob(id: string, data: unknown): RewrapJobDocument {
  const parsed = rewrapJobDocumentSchema.safeParse(data);
  if (!parsed.success) {
    throw new BrokerError('internal', 'A stored re-wrap job does not match its schema', { cause: new Error(`rewrap job ${id}`) });
  }
  return parsed.data;
}

/** The job, or undefined when there is none of that id. */
export async function readRewrapJob(firestore: Firestore, jobId: string): Promise<RewrapJobDocument | undefined> {
  const snapshot = await jobRef(firestore, jobId).get();
  return snapshot.exists ? parseJob(jobId, snapshot.data()) : undefined;
}

const emptyCounts = (): Counts => ({ scanned: 0, rewrapped: 0, alreadyCurrent: 0, noCredentials: 0, changedMeanwhile: 0, failed: 0 });

/**
 * The named job, else the unfinished one, else a new one — chosen in a transaction, so two starts make one job — with
 * its lease now held by `holder` (unless it is completed). Another run's live lease is `lease_held`.
 */
export async function claimRewrapJob(
  firestore: Firestore,
  claim: { requested: string | undefined; holder: string; startedBy: string; newJobId: () => string; nowMs: () => number },
): Promise<string> {
  const total = claim.requested === undefined ? await countAllConnections(firestore) : 0;
  return firestore.runTransaction(async (transaction) => {
    const nowMs = claim.nowMs();
    let jobId = claim.requested;
    let job: RewrapJobDocument | undefined;
    if (jobId !== undefined) {
      const snapshot = await transaction.get(jobRef(firestore, jobId));
      if (!snapshot.exists) throw new BrokerError('not_found', 'No such re-wrap job');
      job = parseJob(jobId, snapshot.data());
    } else {
      const running = await transaction.get(rewrapJobsWithStatus.build(firestore, { status: 'running' }).limit(1));
      const found = running.docs[0];
      if (found !== undefined) {
        jobId = found.id;
        job = parseJob(found.id, found.data());
      }
    }
    if (jobId === undefined || job === undefined) {
      jobId = claim.newJobId();
      job = {
        status: 'running',
        total,
        counts: emptyCounts(),
        failures: [],
        keyVersions: [],
        cursor: null,
        lease: { holder: null, expiresAtMs: 0 },
        startedBy: claim.startedBy,
        startedAtMs: nowMs,
        updatedAtMs: nowMs,
        completedAtMs: null,
      };
    }
    if (job.status === 'completed') return jobId;
    if (job.lease.holder !== null && job.lease.holder !== claim.holder && job.lease.expiresAtMs > nowMs) {
      throw new BrokerError('lease_held', 'Another run is working on this re-wrap job; check its progress and retry later', {
        details: { jobId },
        retryAfterSeconds: Math.max(1, Math.ceil((job.lease.expiresAtMs - nowMs) / 1000)),
      });
    }
    transaction.set(jobRef(firestore, jobId), { ...job, lease: { holder: claim.holder, expiresAtMs: nowMs + JOB_LEASE_MS }, updatedAtMs: nowMs });
    return jobId;
  });
}

/** The batch of connections after `cursor`, in id order (the order a job works through them). */
export async function readRewrapBatch(
  firestore: Firestore,
  cursor: string | null,
  batchSize: number,
): Promise<{ connections: StoredConnection[]; lastId: string | null; full: boolean }> {
  let page = connectionsById.build(firestore, {}).limit(batchSize);
  if (cursor !== null) page = page.startAfter(cursor);
  const snapshot = await page.get();
  return {
    connections: snapshot.docs.map((doc) => parseConnectionSnapshot(doc)).filter((c): c is StoredConnection => c !== undefined),
    lastId: snapshot.docs.at(-1)?.id ?? null,
    full: snapshot.size >= batchSize,
  };
}

function sameBlob(a: SealedBlob, b: SealedBlob): boolean {
  return (
    a.kmsKeyVersion === b.kmsKeyVersion &&
    a.wrappedKey.equals(b.wrappedKey) &&
    a.ciphertext.equals(b.ciphertext) &&
    a.iv.equals(b.iv) &&
    a.tag.equals(b.tag)
  );
}

/** Writes the re-wrapped credentials only if the stored ones are still `expected`; false when they changed meanwhile. */
export async function replaceRewrappedCredentials(firestore: Firestore, connectionId: string, expected: SealedBlob, rewrapped: SealedBlob): Promise<boolean> {
  const connectionDoc = connectionRef(firestore, connectionId);
  return firestore.runTransaction(async (transaction) => {
    const current = parseConnectionSnapshot(await transaction.get(connectionDoc));
    const currentBlob = current?.document.credentials ?? null;
    if (currentBlob === null || !sameBlob(currentBlob, expected)) return false;
    updateConnectionDocument(transaction, connectionDoc, { credentials: rewrapped });
    return true;
  });
}

/** Saves a finished batch under the lease: counts, cursor, and completion when the last page was short. */
export async function saveRewrapBatch(
  firestore: Firestore,
  jobId: string,
  batch: { holder: string; nowMs: () => number; cursor: string | null; results: readonly RewrapResult[]; finished: boolean },
): Promise<RewrapJobDocument> {
  const ref = jobRef(firestore, jobId);
  return firestore.runTransaction(async (transaction) => {
    const snapshot = await transaction.get(ref);
    const job = parseJob(jobId, snapshot.data());
    const nowMs = batch.nowMs();
    if (job.lease.holder !== batch.holder) {
      throw new BrokerError('lease_held', 'This run lost the re-wrap job to another run', { details: { jobId } });
    }
    const counts = { ...job.counts };
    const keyVersions = new Set(job.keyVersions);
    const failures = [...job.failures];
    for (const result of batch.results) {
      counts.scanned += 1;
      counts[result.outcome] += 1;
      if (result.keyVersion !== undefined) keyVersions.add(result.keyVersion);
      if (result.errorCode !== undefined && failures.length < MAX_RECORDED_FAILURES) {
        failures.push({ connectionId: result.connectionId, errorCode: result.errorCode });
      }
    }
    const next: RewrapJobDocument = {
      ...job,
      counts,
      failures,
      keyVersions: [...keyVersions].sort(),
      cursor: batch.cursor ?? job.cursor,
      status: batch.finished ? 'completed' : 'running',
      completedAtMs: batch.finished ? nowMs : null,
      lease: batch.finished ? { holder: null, expiresAtMs: 0 } : { holder: batch.holder, expiresAtMs: nowMs + JOB_LEASE_MS },
      updatedAtMs: nowMs,
    };
    transaction.set(ref, next);
    return next;
  });
}

/** Gives the lease up, if `holder` still has it, so the next run need not wait for it to run out. */
export async function releaseRewrapJob(firestore: Firestore, jobId: string, holder: string): Promise<void> {
  const ref = jobRef(firestore, jobId);
  await firestore.runTransaction(async (transaction) => {
    const job = parseJob(jobId, (await transaction.get(ref)).data());
    if (job.lease.holder === holder) transaction.update(ref, { 'lease.holder': null, 'lease.expiresAtMs': 0 });
  });
}
