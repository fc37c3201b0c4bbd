// A fenced lease on one Firestore document: at most one live holder, and writes that only land while their lease is current.
//
// Why the fencing version exists: a lease ends by the clock, but a holder does not notice the clock. An
// instance can stall past its expiry (a GC pause, a slow provider, a CPU-throttled Cloud Run instance)
// while another instance takes the lease over and writes fresher data, e.g. a rotated refresh token. When
// the stalled one wakes up it still believes it holds the lease, and its write would replace the newer
// tokens with ones the provider has already invalidated. So every claim that takes over bumps `version`,
// the claimant keeps the number it got, and its writes go through writeIfLeaseVersion, which checks in the
// same transaction that the document still carries that number. A release keeps the number (only the
// holder is cleared), so it never goes back and a stale number can never become current again.
import type { DocumentData, DocumentReference, Firestore, Transaction, UpdateData } from '@google-cloud/firestore';
import { z } from 'zod';
import { BrokerError, isBrokerError } from '../errors/broker-error.js';
import type { Clock } from '../time/clock.js';

export const leaseSchema = z
  .object({
    /** Who holds it; null once released. Must be unique per claimant (e.g. instance id + attempt id). */
    holder: z.string().min(1).nullable(),
    expiresAtMs: z.number().int().nonnegative(),
    /** The fencing version: only ever increases, by one per claim that takes the lease. */
    version: z.number().int().positive(),
  })
  .strict();

export type Lease = z.infer<typeof leaseSchema>;

/** The lease's place in its document: the field name and its shape, defined once. Other fields pass untouched. */
export const leaseFieldSchema = z.object({ lease: leaseSchema.optional() });

type LeaseField = z.infer<typeof leaseFieldSchema>;
const leaseFieldNames = Object.keys(leaseFieldSchema.shape);

export interface ClaimLeaseOptions {
  readonly holder: string;
  readonly ttlMs: number;
  readonly clock: Clock;
}

export type ClaimLeaseResult =
  | { readonly claimed: true; readonly version: number; readonly expiresAtMs: number }
  | { readonly claimed: false; readonly holder: string; readonly expiresAtMs: number };

export interface ReleaseLeaseOptions {
  readonly holder: string;
  readonly version: number;
}

// gRPC status codes the Firestore client reports (google.rpc.Code).
const grpcAborted = 10;
const grpcTransientCodes: ReadonlySet<number> = new Set([4, 8, 14]); // DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE

function storageFailure(error: unknown, documentPath: string): unknown {
  if (isBrokerError(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === grpcAborted) {
    // The client already retried the transaction; contention persisted.
    return new BrokerError('conflict', 'The document kept changing concurrently; retry', {
      cause: error,
      details: { document: documentPath },
    });
  }
  if (typeof code === 'number' && grpcTransientCodes.has(code)) {
    return new BrokerError('storage_unavailable', 'Firestore is unavailable; retry later', {
      cause: error,
      details: { document: documentPath },
    });
  }
  return error;
}

async function inTransaction<T>(
  firestore: Firestore,
  documentPath: string,
  work: (transaction: Transaction) => Promise<T>,
): Promise<T> {
  try {
    return await firestore.runTransaction(work);
  } catch (error) {
    throw storageFailure(error, documentPath);
  }
}

async function readLease(
  transaction: Transaction,
  docRef: DocumentReference,
): Promise<{ exists: boolean; lease: Lease | undefined }> {
  const snapshot = await transaction.get(docRef);
  if (!snapshot.exists) return { exists: false, lease: undefined };
  const parsed = leaseFieldSchema.safeParse(snapshot.data());
  if (!parsed.success) {
    throw new BrokerError('internal', 'A stored lease has an unexpected shape', {
      cause: parsed.error,
      details: { document: docRef.path },
    });
  }
  return { exists: true, lease: parsed.data.lease };
}

function requireNonEmptyString(value: unknown, name: string): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
}

function requirePositiveInteger(value: unknown, name: string): void {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new TypeError(`${name} must be a positive integer`);
}

/**
 * Takes the lease if nobody holds it or the holder's lease has expired (bumping the fencing version), or
 * renews it (same version, later expiry) if `holder` already holds it. The document must exist.
 */
export async function claimLease(
  firestore: Firestore,
  docRef: DocumentReference,
  options: ClaimLeaseOptions,
): Promise<ClaimLeaseResult> {
  requireNonEmptyString(options.holder, 'claimLease holder');
  requirePositiveInteger(options.ttlMs, 'claimLease ttlMs');
  const { holder, ttlMs, clock } = options;
  return inTransaction(firestore, docRef.path, async (transaction) => {
    const { exists, lease } = await readLease(transaction, docRef);
    if (!exists) {
      throw new BrokerError('not_found', 'The leased document does not exist', { details: { document: docRef.path } });
    }
    // The clock is read inside the transaction: a retried attempt judges expiry afresh.
    const nowMs = clock.nowMs();
    const live =
      lease?.holder != null && lease.expiresAtMs > nowMs
        ? { holder: lease.holder, expiresAtMs: lease.expiresAtMs }
        : undefined;
    if (live !== undefined && live.holder !== holder) {
      return { claimed: false, holder: live.holder, expiresAtMs: live.expiresAtMs };
    }
    const previousVersion = lease?.version ?? 0;
    const next: Lease = {
      holder,
      expiresAtMs: nowMs + ttlMs,
      // A live lease here is the caller's own: renewing keeps the version so its pending writes stay valid.
      version: live !== undefined ? previousVersion : previousVersion + 1,
    };
    transaction.update(docRef, { lease: next } satisfies LeaseField);
    return { claimed: true, version: next.version, expiresAtMs: next.expiresAtMs };
  });
}

/**
 * Gives the lease up if `holder` still holds it at `version`; returns whether it did. The version stays,
 * so a later claim continues from it (see the module comment).
 */
export async function releaseLease(
  firestore: Firestore,
  docRef: DocumentReference,
  options: ReleaseLeaseOptions,
): Promise<boolean> {
  requireNonEmptyString(options.holder, 'releaseLease holder');
  requirePositiveInteger(options.version, 'releaseLease version');
  return inTransaction(firestore, docRef.path, async (transaction) => {
    const { lease } = await readLease(transaction, docRef);
    if (lease?.holder !== options.holder || lease.version !== options.version) return false;
    transaction.update(docRef, { lease: { holder: null, expiresAtMs: 0, version: lease.version } } satisfies LeaseField);
    return true;
  });
}

/**
 * Applies `update` only while the document's lease is held at `version`. Throws `lease_held` when another
 * holder has claimed it since, `conflict` when it was released or the document is gone. An expired lease
 * that nobody took over still accepts its holder's write: no newer writer exists to be overwritten.
 */
export async function writeIfLeaseVersion(
  firestore: Firestore,
  docRef: DocumentReference,
  version: number,
  update: UpdateData<DocumentData>,
): Promise<void> {
  requirePositiveInteger(version, 'writeIfLeaseVersion version');
  const touchesLease = Object.keys(update).some((key) =>
    leaseFieldNames.some((field) => key === field || key.startsWith(`${field}.`)),
  );
  if (touchesLease) {
    throw new TypeError('writeIfLeaseVersion update must not change the lease: use claimLease or releaseLease');
  }
  await inTransaction(firestore, docRef.path, async (transaction) => {
    const { exists, lease } = await readLease(transaction, docRef);
    if (!exists || lease === undefined || lease.holder === null) {
      throw new BrokerError('conflict', 'The lease was released or its document is gone; the write was not applied', {
        details: { document: docRef.path, version },
      });
    }
    if (lease.version !== version) {
      throw new BrokerError('lease_held', 'The lease was taken over; the write was not applied', {
        details: { document: docRef.path, version, currentVersion: lease.version },
      });
    }
    transaction.update(docRef, update);
  });
}
