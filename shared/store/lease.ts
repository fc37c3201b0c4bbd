// The refresh lease on a connection document, the one way: claim (decide and take it in one write conditioned on the
// version decided on), extend it while the provider is slow, commit the outcome fenced by the lease's version
// (releasing it), keep a late reply.
//
// Why the fencing version exists: a lease ends by the clock, but a holder does not notice the clock. An instance can
// stall past its expiry (a GC pause, a CPU-throttled Cloud Run instance, a Firestore outage that stops its
// extensions) while another instance takes the lease over and writes fresher data, e.g. a rotated refresh token.
// Every claim that takes the lease bumps `version`; the claimant keeps the number it got, and its commit lands only
// while the document still carries that number (checked in the commit's transaction, or implied by its condition).
// A release keeps the number (only the holder is cleared), so it never goes back and a stale number can never become
// current again.
//
// Why claims and commits usually read nothing: the caller already holds the document it decided on (the token read's
// copy, the sweep's page), so the claim is one write conditioned on that copy's update time, and the holder remembers
// the version it wrote itself (claim, then each extension) so its commit is one write conditioned on that (sent in one
// Commit with the other outcomes of its turn, write-groups.ts). A condition that fails means someone else wrote: the
// claim reads again and decides afresh, the commit falls back to its reading transaction and the fence checks. Either
// way the decision is made on the document as stored when the write lands.
//
// Why a late reply is still kept: the provider may have rotated the refresh token for a holder whose lease was lost.
// Its reply is the only copy of the new token. It is stored when the holder can prove nothing newer was stored since
// it claimed (the credentials are still the very seal it read), so it never overwrites a newer refresh or a reconnect.
import type { Firestore, Precondition, Timestamp, Transaction, UpdateData } from '@google-cloud/firestore';
import { type AtomicWrites, RecordedWrites } from './atomic-writes.js';
import { BrokerError } from '../errors/broker-error.js';
import type { Clock } from '../time/clock.js';
import { type ConnectionDocument, connectionDocumentSchema, type Lease } from './connection-document.js';
import { connectionRef, parseConnectionSnapshot, readConnection, type StoredConnection } from './connection-reads.js';
import { firestoreFailure } from './firestore-failure.js';
import { updateConnectionDocument, updateConnectionDocumentIfUnchanged } from './connection-change.js';
import { commitInGroup } from './write-groups.js';

/** The one liveness rule: a holder is named and its time has not run out. */
export function isLeaseLive(lease: Lease | undefined, nowMs: number): lease is Lease & { holder: string } {
  return lease !== undefined && lease.holder !== null && lease.expiresAtMs > nowMs;
}

/** What a claim hands its holder: the lease it took, and the document as it stood when taken. */
export interface RefreshFence {
  readonly holder: string;
  readonly version: number;
  /** A reconnect or revoke writes `updatedAtMs`: a refresh of the grant it replaced must not land. */
  readonly expectedUpdatedAtMs: number;
  /** Which seal of the credentials the holder refreshed from (its IV, unique per seal); null when none. */
  readonly credentialsSeal: string | null;
  /**
   * The document as this holder last wrote it (the claim, then each extension), with that write's update time: its
   * commit writes on it without reading. Cleared when the holder can no longer be sure nobody wrote since.
   */
  lastWritten?: StoredConnection | undefined;
}

/** Identifies one seal of a connection's credentials: a new seal always has a new random IV (re-wrapping keeps it). */
export function credentialsSealOf(document: Pick<ConnectionDocument, 'credentials'>): string | null {
  return document.credentials === null ? null : Buffer.from(document.credentials.iv).toString('base64');
}

export interface ClaimLeaseOptions<Skip extends string> {
  /** The document as the caller last read it: decided on and claimed with one conditional write while still current. */
  readonly seen?: StoredConnection | undefined;
  readonly holder: string;
  readonly ttlMs: number;
  readonly clock: Clock;
  /** 'claim', or why not; sees the document as stored. A live lease of someone else is refused before it is asked. */
  readonly decide: (connection: StoredConnection, nowMs: number) => 'claim' | Skip;
}

export type ClaimLeaseResult<Skip extends string> =
  | {
      readonly claimed: true;
      readonly connection: StoredConnection;
      readonly fence: RefreshFence;
      /** The holder whose lease ran out before it released it (it died or stalled mid-refresh); null when none did. */
      readonly tookOverFrom: string | null;
    }
  | { readonly claimed: false; readonly reason: Skip | 'lease_held'; readonly connection: StoredConnection }
  | { readonly claimed: false; readonly reason: 'gone' };

async function inTransaction<T>(firestore: Firestore, work: (transaction: Transaction) => Promise<T>): Promise<T> {
  try {
    return await firestore.runTransaction(work);
  } catch (error) {
    throw firestoreFailure(error);
  }
}

function requireClaimant(holder: unknown, ttlMs: unknown): void {
  if (typeof holder !== 'string' || holder === '') throw new TypeError('lease holder must be a non-empty string');
  if (!Number.isSafeInteger(ttlMs) || (ttlMs as number) <= 0) throw new TypeError('lease ttlMs must be a positive integer');
}

function versionOf(stored: StoredConnection): Timestamp {
  if (stored.updateTime === undefined) throw new TypeError('a connection read from Firestore carries its update time');
  return stored.updateTime;
}

/** Re-reads before giving up on a claim whose condition kept failing: each failure means another write landed first. */
const CLAIM_ATTEMPTS = 5;

function readForClaim(firestore: Firestore, connectionId: string): Promise<StoredConnection | undefined> {
  return readConnection(firestore, connectionId).catch((error: unknown) => {
    throw firestoreFailure(error);
  });
}

/**
 * The holder's copy after its own write of `document` landed at `writtenAt`. Its change stamp is left out: the write's
 * stamp is its request's time (connection-change.ts), which the write does not report, and nothing reads it from a copy.
 */
function afterOwnWrite(id: string, document: ConnectionDocument, writtenAt: Timestamp): StoredConnection {
  const { changedAt: _unknown, ...rest } = document;
  return { id, document: rest, updateTime: writtenAt };
}

/**
 * Decides on the stored document and takes the lease with one write conditioned on the version decided on: what is
 * refreshed is what was judged. Starts from `seen` when the caller has a copy, else reads.
 */
export async function claimRefreshLease<Skip extends string>(
  firestore: Firestore,
  connectionId: string,
  options: ClaimLeaseOptions<Skip>,
): Promise<ClaimLeaseResult<Skip>> {
  requireClaimant(options.holder, options.ttlMs);
  const docRef = connectionRef(firestore, connectionId);
  let stored = options.seen?.updateTime === undefined ? await readForClaim(firestore, connectionId) : options.seen;
  for (let attempt = 1; ; attempt += 1) {
    if (stored === undefined) return { claimed: false, reason: 'gone' };
    // Judged at the moment of each attempt: a retried attempt judges expiry and due-ness afresh.
    const nowMs = options.clock.nowMs();
    const previous = stored.document.lease;
    if (isLeaseLive(previous, nowMs)) return { claimed: false, reason: 'lease_held', connection: stored };
    const decision = options.decide(stored, nowMs);
    if (decision !== 'claim') return { claimed: false, reason: decision, connection: stored };
    const lease: Lease = { holder: options.holder, expiresAtMs: nowMs + options.ttlMs, version: (previous?.version ?? 0) + 1 };
    const writtenAt = await updateConnectionDocumentIfUnchanged(docRef, { lease }, versionOf(stored)).catch((error: unknown) => {
      throw firestoreFailure(error);
    });
    if (writtenAt !== undefined) {
      const { document } = stored;
      const connection = afterOwnWrite(stored.id, { ...document, lease }, writtenAt);
      return {
        claimed: true,
        connection,
        fence: {
          holder: options.holder,
          version: lease.version,
          expectedUpdatedAtMs: document.updatedAtMs,
          credentialsSeal: credentialsSealOf(document),
          lastWritten: connection,
        },
        tookOverFrom: previous?.holder ?? null,
      };
    }
    if (attempt >= CLAIM_ATTEMPTS) throw new BrokerError('conflict', 'The record kept changing concurrently; retry', { details: { connectionId } });
    stored = await readForClaim(firestore, connectionId);
  }
}

/** Pushes the lease's end out while its holder still holds it; false when it was taken over, released or the document is gone. */
export async function extendRefreshLease(
  firestore: Firestore,
  connectionId: string,
  fence: RefreshFence,
  options: { readonly ttlMs: number; readonly clock: Clock },
): Promise<boolean> {
  requireClaimant(fence.holder, options.ttlMs);
  const docRef = connectionRef(firestore, connectionId);
  const known = fence.lastWritten;
  if (known !== undefined) {
    const expiresAtMs = options.clock.nowMs() + options.ttlMs;
    const writtenAt = await updateConnectionDocumentIfUnchanged(docRef, { 'lease.expiresAtMs': expiresAtMs }, versionOf(known)).catch((error: unknown) => {
      throw firestoreFailure(error);
    });
    if (writtenAt !== undefined) {
      fence.lastWritten = afterOwnWrite(known.id, { ...known.document, lease: { holder: fence.holder, version: fence.version, expiresAtMs } }, writtenAt);
      return true;
    }
    // Another write landed since ours (or a commit of ours raced this): the reading transaction below tells which.
    fence.lastWritten = undefined;
  }
  return inTransaction(firestore, async (transaction) => {
    const stored = parseConnectionSnapshot(await transaction.get(docRef));
    const lease = stored?.document.lease;
    if (lease?.holder !== fence.holder || lease.version !== fence.version) return false;
    updateConnectionDocument(transaction, docRef, { 'lease.expiresAtMs': options.clock.nowMs() + options.ttlMs });
    return true;
  });
}

/** The changes an outcome makes, built with the commit's other writes (where it may also write events and audit). */
export type OutcomeBuilder = (stored: StoredConnection, writes: AtomicWrites) => Partial<ConnectionDocument>;

function fenceRefusal(connectionId: string, stored: StoredConnection | undefined, fence: RefreshFence): BrokerError | undefined {
  const details = { connectionId, leaseVersion: fence.version };
  if (stored === undefined) return new BrokerError('conflict', 'The connection is gone; the refresh was not stored', { details });
  const lease = stored.document.lease;
  // A newer version means someone claimed it since (and may have released it again): taken over.
  if (lease !== undefined && lease.version !== fence.version) {
    return new BrokerError('lease_held', 'The refresh lease was taken over; the refresh was not stored', { details });
  }
  if (lease?.holder !== fence.holder) return new BrokerError('conflict', 'The refresh lease was released; the refresh was not stored', { details });
  if (stored.document.updatedAtMs !== fence.expectedUpdatedAtMs || stored.document.status === 'revoked') {
    return new BrokerError('conflict', 'The connection was reconnected or revoked during the refresh; the refresh was not stored', { details });
  }
  return undefined;
}

async function writeOutcome(
  firestore: Firestore,
  connectionId: string,
  refuse: (stored: StoredConnection | undefined) => BrokerError | undefined,
  build: OutcomeBuilder,
  known: StoredConnection | undefined,
): Promise<StoredConnection> {
  const docRef = connectionRef(firestore, connectionId);
  const write = (stored: StoredConnection, writes: AtomicWrites, precondition?: Precondition): StoredConnection => {
    const changes = build(stored, writes);
    // Validated as a whole before it is written: a refresh never leaves a document the schema rejects.
    const document = connectionDocumentSchema.parse({ ...stored.document, ...changes });
    updateConnectionDocument(writes, docRef, changes as UpdateData<ConnectionDocument>, precondition);
    return { id: stored.id, document };
  };
  if (known !== undefined && refuse(known) === undefined) {
    const unit = new RecordedWrites();
    let written: StoredConnection | undefined;
    try {
      // Reads nothing: it lands only on the version the holder wrote, in one commit with this turn's other outcomes.
      written = write(known, unit, { lastUpdateTime: versionOf(known) });
    } catch (error) {
      // The builder's own refusals stand; anything else is decided again on the document as stored, below.
      if (error instanceof BrokerError) throw error;
    }
    if (written !== undefined) {
      try {
        await commitInGroup(firestore, unit);
        return written;
      } catch {
        // A storage failure, a newer version, or another unit of the same commit refused: the reading transaction
        // decides.
      }
    }
  }
  return inTransaction(firestore, async (transaction) => {
    const stored = parseConnectionSnapshot(await transaction.get(docRef));
    const refusal = refuse(stored);
    if (refusal !== undefined || stored === undefined) throw refusal;
    return write(stored, transaction);
  });
}

/**
 * Writes a refresh's outcome and releases the lease, only while the lease still carries the holder's version.
 * Throws `lease_held` when it was taken over, `conflict` when it was released or the connection was reconnected or
 * revoked. An expired lease that nobody took over still accepts its holder's commit: no newer writer exists.
 */
export function commitRefresh(firestore: Firestore, connectionId: string, fence: RefreshFence, build: OutcomeBuilder): Promise<StoredConnection> {
  return writeOutcome(
    firestore,
    connectionId,
    (stored) => fenceRefusal(connectionId, stored, fence),
    (stored, transaction) => ({ ...build(stored, transaction), lease: { holder: null, expiresAtMs: 0, version: fence.version } }),
    fence.lastWritten,
  );
}

/**
 * Keeps the reply of a holder whose lease was taken over, when nothing was stored since it claimed: the credentials
 * are the seal it refreshed from and the connection is not revoked. The lease (someone else's now) is left alone.
 * Throws `conflict` when newer credentials (a refresh, a reconnect) or a revoke came first.
 */
export function commitLateReply(firestore: Firestore, connectionId: string, fence: RefreshFence, build: OutcomeBuilder): Promise<StoredConnection> {
  return writeOutcome(
    firestore,
    connectionId,
    (stored) =>
      stored === undefined || stored.document.status === 'revoked' || credentialsSealOf(stored.document) !== fence.credentialsSeal
        ? new BrokerError('conflict', 'Newer credentials were stored since this refresh began; its late reply was not kept', {
            details: { connectionId, leaseVersion: fence.version },
          })
        : undefined,
    build,
    // A holder that lost its lease knows of a write it did not make: it reads.
    undefined,
  );
}
