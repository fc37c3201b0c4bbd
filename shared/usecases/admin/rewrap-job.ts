// Re-wraps every connection's data key under the KMS key's current primary version after a rotation: a job in
// `rewrapJobs`, worked through in id order, its cursor and counts saved after each batch so it resumes where
// it stopped, and safe to run twice (a key already under the primary is left alone).
//
// Why the pieces are as they are:
// - Each re-wrap commits in a transaction that re-reads the connection and writes only if its sealed blob is
//   byte-for-byte the one re-wrapped: a refresh or reconnect that re-sealed it meanwhile (under the primary
//   already) wins. Only `credentials` changes — not `updatedAtMs`, which a refresh in flight uses as its write
//   fence: moving it would make that refresh drop a rotated refresh token it cannot get back.
// - Counts are saved with the cursor, once per batch. A run that dies mid-batch leaves that batch to the next
//   run, which finds the keys it had already moved current: every connection is counted exactly once.
// - One worker at a time: a run holds the job's lease, renewed at each batch; a dead run's lease runs out.
// - Each run opens its own vault, so it reads the primary version fresh rather than a process's cached reading.
// - Authorization flows hold sealed verifiers too, but they expire within the connect flow's TTL (minutes):
//   waiting that long after a rotation before disabling the old version covers them.
import { FieldPath, type Firestore, type Transaction } from '@google-cloud/firestore';
import { z } from 'zod';
import type { Operator } from '../../auth/admin-operator.js';
import type { SealedBlob, Vault } from '../../crypto/vault.js';
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import { collectionNames } from '../../store/collections.js';
import { credentialsSealContext } from '../../store/connection-credentials.js';
import { connectionRef, parseConnectionSnapshot, type StoredConnection } from '../../store/connection-reads.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import {
  type RewrapJob,
  type RewrapRequest,
  rewrapCountsSchema,
  rewrapJobStatuses,
} from './admin-schemas.js';
import { mapWithConcurrency } from '../../async/bounded-concurrency.js';

const JOB_LEASE_MS = 60_000;
const REWRAP_CONCURRENCY = 8;
const MAX_RECORDED_FAILURES = 100;
// Failures that say "not now" rather than "not this one": the run stops and the batch is retried on resume.
const retryableCodes = new Set(['kms_unavailable', 'storage_unavailable', 'conflict']);

const jobDocumentSchema = z
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
type JobDocument = z.infer<typeof jobDocumentSchema>;
type Counts = JobDocument['counts'];
type Outcome = Exclude<keyof Counts, 'scanned'>;

export interface RewrapRunOptions {
  /** The run stops starting batches after this moment (the function's own time budget). */
  readonly deadlineMs: number;
  /** A vault for this run alone; closed when the run ends. */
  readonly openVault: () => Vault;
}

const jobs = (firestore: Firestore) => firestore.collection(collectionNames.rewrapJobs);

function parseJob(id: string, data: unknown): JobDocument {
  const parsed = jobDocumentSchema.safeParse(data);
  if (!parsed.success) {
    throw new BrokerError('internal', 'A stored re-wrap job does not match its schema', { cause: new Error(`rewrap job ${id}`) });
  }
  return parsed.data;
}

export function rewrapJobView(jobId: string, job: JobDocument): RewrapJob {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    jobId,
    status: job.status,
    total: job.total,
    counts: { ...job.counts },
    failures: job.failures.map((failure) => ({ ...failure })),
    keyVersions: [...job.keyVersions],
    startedBy: job.startedBy,
    startedAt: iso(job.startedAtMs),
    updatedAt: iso(job.updatedAtMs),
    completedAt: job.completedAtMs === null ? null : iso(job.completedAtMs),
  };
}

export async function readRewrapJob(runtime: BrokerRuntime, jobId: string): Promise<RewrapJob> {
  const snapshot = await jobs(runtime.firestore()).doc(jobId).get();
  if (!snapshot.exists) throw new BrokerError('not_found', 'No such re-wrap job');
  return rewrapJobView(jobId, parseJob(jobId, snapshot.data()));
}

const emptyCounts = (): Counts => ({ scanned: 0, rewrapped: 0, alreadyCurrent: 0, noCredentials: 0, changedMeanwhile: 0, failed: 0 });

/** The named job, else the unfinished one, else a new one — chosen in a transaction, so two starts make one job. */
async function claimJob(runtime: BrokerRuntime, operator: Operator, requested: string | undefined, holder: string): Promise<string> {
  const firestore = runtime.firestore();
  const total = requested === undefined ? (await firestore.collection(collectionNames.connections).count().get()).data().count : 0;
  return firestore.runTransaction(async (transaction) => {
    const nowMs = runtime.clock.nowMs();
    let jobId = requested;
    let job: JobDocument | undefined;
    if (jobId !== undefined) {
      const snapshot = await transaction.get(jobs(firestore).doc(jobId));
      if (!snapshot.exists) throw new BrokerError('not_found', 'No such re-wrap job');
      job = parseJob(jobId, snapshot.data());
    } else {
      const running = await transaction.get(jobs(firestore).where('status', '==', 'running').limit(1));
      const found = running.docs[0];
      if (found !== undefined) {
        jobId = found.id;
        job = parseJob(found.id, found.data());
      }
    }
    if (jobId === undefined || job === undefined) {
      jobId = `rewrap_${runtime.ids.newId()}`;
      job = {
        status: 'running',
        total,
        counts: emptyCounts(),
        failures: [],
        keyVersions: [],
        cursor: null,
        lease: { holder: null, expiresAtMs: 0 },
        startedBy: operator.email,
        startedAtMs: nowMs,
        updatedAtMs: nowMs,
        completedAtMs: null,
      };
    }
    if (job.status === 'completed') return jobId;
    if (job.lease.holder !== null && job.lease.holder !== holder && job.lease.expiresAtMs > nowMs) {
      throw new BrokerError('lease_held', 'Another run is working on this re-wrap job; check its progress and retry later', {
        details: { jobId },
        retryAfterSeconds: Math.max(1, Math.ceil((job.lease.expiresAtMs - nowMs) / 1000)),
      });
    }
    transaction.set(jobs(firestore).doc(jobId), { ...job, lease: { holder, expiresAtMs: nowMs + JOB_LEASE_MS }, updatedAtMs: nowMs });
    return jobId;
  });
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

interface ConnectionResult {
  readonly outcome: Outcome;
  readonly keyVersion?: string;
  readonly errorCode?: string;
}

async function rewrapConnection(firestore: Firestore, vault: Vault, connection: StoredConnection): Promise<ConnectionResult> {
  const blob = connection.document.credentials;
  if (blob === null) return { outcome: 'noCredentials' };
  const context = credentialsSealContext(connection.id, connection.document.tenantId);
  const rewrapped = await vault.rewrap(blob, context);
  if (rewrapped === blob) return { outcome: 'alreadyCurrent' };
  const ref = connectionRef(firestore, connection.id);
  const written = await firestore.runTransaction(async (transaction: Transaction) => {
    const current = parseConnectionSnapshot(await transaction.get(ref));
    const currentBlob = current?.document.credentials ?? null;
    if (currentBlob === null || !sameBlob(currentBlob, blob)) return false;
    transaction.update(ref, { credentials: rewrapped });
    return true;
  });
  return written ? { outcome: 'rewrapped', keyVersion: rewrapped.kmsKeyVersion } : { outcome: 'changedMeanwhile' };
}

/** Saves a finished batch under the lease: counts, cursor, and completion when the last page was short. */
async function saveBatch(
  runtime: BrokerRuntime,
  jobId: string,
  holder: string,
  batch: { cursor: string | null; results: readonly (ConnectionResult & { connectionId: string })[]; finished: boolean },
): Promise<JobDocument> {
  const firestore = runtime.firestore();
  const ref = jobs(firestore).doc(jobId);
  return firestore.runTransaction(async (transaction) => {
    const snapshot = await transaction.get(ref);
    const job = parseJob(jobId, snapshot.data());
    const nowMs = runtime.clock.nowMs();
    if (job.lease.holder !== holder) {
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
    const next: JobDocument = {
      ...job,
      counts,
      failures,
      keyVersions: [...keyVersions].sort(),
      cursor: batch.cursor ?? job.cursor,
      status: batch.finished ? 'completed' : 'running',
      completedAtMs: batch.finished ? nowMs : null,
      lease: batch.finished ? { holder: null, expiresAtMs: 0 } : { holder, expiresAtMs: nowMs + JOB_LEASE_MS },
      updatedAtMs: nowMs,
    };
    transaction.set(ref, next);
    return next;
  });
}

async function releaseJob(runtime: BrokerRuntime, jobId: string, holder: string): Promise<void> {
  const firestore = runtime.firestore();
  const ref = jobs(firestore).doc(jobId);
  await firestore.runTransaction(async (transaction) => {
    const job = parseJob(jobId, (await transaction.get(ref)).data());
    if (job.lease.holder === holder) transaction.update(ref, { 'lease.holder': null, 'lease.expiresAtMs': 0 });
  });
}

/** Starts or resumes a job and works on it until it is done, out of batches, or out of time. */
export async function runRewrapJob(runtime: BrokerRuntime, operator: Operator, request: RewrapRequest, options: RewrapRunOptions): Promise<RewrapJob> {
  const holder = `rewrap-run/${runtime.ids.newId()}`;
  const jobId = await claimJob(runtime, operator, request.jobId, holder);
  const firestore = runtime.firestore();
  let job = parseJob(jobId, (await jobs(firestore).doc(jobId).get()).data());
  if (job.status === 'completed') return rewrapJobView(jobId, job);
  const vault = options.openVault();
  let batches = 0;
  try {
    while (job.status === 'running') {
      if (request.maxBatches !== undefined && batches >= request.maxBatches) break;
      if (runtime.clock.nowMs() >= options.deadlineMs) break;
      let page = firestore.collection(collectionNames.connections).orderBy(FieldPath.documentId()).limit(request.batchSize);
      if (job.cursor !== null) page = page.startAfter(job.cursor);
      const snapshot = await page.get();
      const connections = snapshot.docs.map((doc) => parseConnectionSnapshot(doc)).filter((c): c is StoredConnection => c !== undefined);
      const results = await mapWithConcurrency(connections, REWRAP_CONCURRENCY, async (connection) => {
        try {
          return { connectionId: connection.id, ...(await rewrapConnection(firestore, vault, connection)) };
        } catch (error) {
          // "Not now" stops the run with the batch unsaved; a blob that will never open is recorded and passed.
          if (!isBrokerError(error) || retryableCodes.has(error.code)) throw error;
          return { connectionId: connection.id, outcome: 'failed' as const, errorCode: error.code };
        }
      });
      const last = snapshot.docs.at(-1)?.id ?? null;
      job = await saveBatch(runtime, jobId, holder, { cursor: last, results, finished: snapshot.size < request.batchSize });
      batches += 1;
      runtime.logger.info('admin.rewrap_batch', 'Re-wrapped a batch of data keys', {
        count: results.length,
        remaining: Math.max(0, job.total - job.counts.scanned),
        keyVersion: job.keyVersions.at(-1) ?? null,
      });
    }
  } finally {
    await vault.close().catch(() => undefined);
    if (job.status === 'running') await releaseJob(runtime, jobId, holder).catch(() => undefined);
  }
  return rewrapJobView(jobId, parseJob(jobId, (await jobs(firestore).doc(jobId).get()).data()));
}
