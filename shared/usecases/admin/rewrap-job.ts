// Re-wraps every connection's data key under the KMS key's current primary version after a rotation: a job worked
// through in connection id order, its progress saved after each batch so it resumes where it stopped, and safe to
// run twice (a key already under the primary is left alone). The job's storage and its transactions, and why they
// are as they are, live in shared/store/rewrap-jobs.ts.
//
// - Each run opens its own vault, so it reads the primary version fresh rather than a process's cached reading.
// - Authorization flows hold sealed verifiers too, but they expire within the connect flow's TTL (minutes):
//   waiting that long after a rotation before disabling the old version covers them.
import type { Firestore } from '@google-cloud/firestore';
import { mapWithConcurrency } from '../../async/bounded-concurrency.js';
import type { Operator } from '../../auth/admin-operator.js';
import type { Vault } from '../../crypto/vault.js';
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import { credentialsSealContext } from '../../store/connection-credentials.js';
import type { StoredConnection } from '../../store/connection-reads.js';
import {
  claimRewrapJob,
  readRewrapBatch,
  readRewrapJob as readRewrapJobDocument,
  releaseRewrapJob,
  replaceRewrappedCredentials,
  type RewrapJobDocument,
  type RewrapResult,
  saveRewrapBatch,
} from '../../store/rewrap-jobs.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import type { RewrapJob, RewrapRequest } from './admin-schemas.js';

const REWRAP_CONCURRENCY = 8;
// Failures that say "not now" rather than "not this one": the run stops and the batch is retried on resume.
const retryableCodes = new Set(['kms_unavailable', 'storage_unavailable', 'conflict']);

export interface RewrapRunOptions {
  /** The run stops starting batches after this moment (the function's own time budget). */
  readonly deadlineMs: number;
  /** A vault for this run alone; closed when the run ends. */
  readonly openVault: () => Vault;
}

export function rewrapJobView(jobId: string, job: RewrapJobDocument): RewrapJob {
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

async function requireJob(firestore: Firestore, jobId: string): Promise<RewrapJobDocument> {
  const job = await readRewrapJobDocument(firestore, jobId);
  if (job === undefined) throw new BrokerError('not_found', 'No such re-wrap job');
  return job;
}

export async function readRewrapJob(runtime: BrokerRuntime, jobId: string): Promise<RewrapJob> {
  return rewrapJobView(jobId, await requireJob(runtime.firestore(), jobId));
}

async function rewrapConnection(firestore: Firestore, vault: Vault, connection: StoredConnection): Promise<Omit<RewrapResult, 'connectionId'>> {
  const blob = connection.document.credentials;
  if (blob === null) return { outcome: 'noCredentials' };
  const rewrapped = await vault.rewrap(blob, credentialsSealContext(connection.id, connection.document.tenantId));
  if (rewrapped === blob) return { outcome: 'alreadyCurrent' };
  const written = await replaceRewrappedCredentials(firestore, connection.id, blob, rewrapped);
  return written ? { outcome: 'rewrapped', keyVersion: rewrapped.kmsKeyVersion } : { outcome: 'changedMeanwhile' };
}

/** Starts or resumes a job and works on it until it is done, out of batches, or out of time. */
export async function runRewrapJob(runtime: BrokerRuntime, operator: Operator, request: RewrapRequest, options: RewrapRunOptions): Promise<RewrapJob> {
  const firestore = runtime.firestore();
  const nowMs = () => runtime.clock.nowMs();
  const holder = `rewrap-run/${runtime.ids.newId()}`;
  const jobId = await claimRewrapJob(firestore, {
    requested: request.jobId,
    holder,
    startedBy: operator.email,
    newJobId: () => `rewrap_${runtime.ids.newId()}`,
    nowMs,
  });
  let job = await requireJob(firestore, jobId);
  if (job.status === 'completed') return rewrapJobView(jobId, job);
  const vault = options.openVault();
  let batches = 0;
  try {
    while (job.status === 'running') {
      if (request.maxBatches !== undefined && batches >= request.maxBatches) break;
      if (nowMs() >= options.deadlineMs) break;
      const batch = await readRewrapBatch(firestore, job.cursor, request.batchSize);
      const results = await mapWithConcurrency(batch.connections, REWRAP_CONCURRENCY, async (connection): Promise<RewrapResult> => {
        try {
          return { connectionId: connection.id, ...(await rewrapConnection(firestore, vault, connection)) };
        } catch (error) {
          // "Not now" stops the run with the batch unsaved; a blob that will never open is recorded and passed.
          if (!isBrokerError(error) || retryableCodes.has(error.code)) throw error;
          return { connectionId: connection.id, outcome: 'failed', errorCode: error.code };
        }
      });
      job = await saveRewrapBatch(firestore, jobId, { holder, nowMs, cursor: batch.lastId, results, finished: !batch.full });
      batches += 1;
      runtime.logger.info('admin.rewrap_batch', 'Re-wrapped a batch of data keys', {
        count: results.length,
        remaining: Math.max(0, job.total - job.counts.scanned),
        keyVersion: job.keyVersions.at(-1) ?? null,
      });
    }
  } finally {
    await vault.close().catch(() => undefined);
    if (job.status === 'running') await releaseRewrapJob(firestore, jobId, holder).catch(() => undefined);
  }
  return rewrapJobView(jobId, await requireJob(firestore, jobId));
}
