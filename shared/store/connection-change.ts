// Every write to a connection document stamps its commit time, on Firestore's clock, in `changedAt`. The token
// function's cache (shared/usecases/token/connection-cache.ts) learns of changes through one listener on that field,
// so the writers here are the only way a connection document is written; a test holds every module to it.
import { type DocumentReference, FieldValue, type Precondition, type Timestamp, type Transaction, type UpdateData } from '@google-cloud/firestore';
import type { ConnectionDocument } from './connection-document.js';
import type { AtomicWrites } from './atomic-writes.js';
import { isStaleVersionFailure } from './firestore-failure.js';
import { updateInGroup } from './write-groups.js';

/** Only the change listener (connection-watch.ts) looks at it. */
export const CHANGE_STAMP_FIELD = 'changedAt' satisfies keyof ConnectionDocument;

/** The stamp itself, for the two writers below (and test fixtures that write documents as the broker would). */
export function changeStamp(): { [CHANGE_STAMP_FIELD]: FieldValue } {
  return { [CHANGE_STAMP_FIELD]: FieldValue.serverTimestamp() };
}

/** `precondition`: the write lands only on the version it names (a transaction that read nothing relies on it). */
export function updateConnectionDocument(writes: AtomicWrites, ref: DocumentReference, changes: UpdateData<ConnectionDocument>, precondition?: Precondition): void {
  if (precondition === undefined) writes.update(ref, { ...changes, ...changeStamp() });
  else writes.update(ref, { ...changes, ...changeStamp() }, precondition);
}

/**
 * One write, no read: the update lands only if the document is still the version stored at `updateTime`. Resolves to
 * the new version's update time, or undefined when the document changed or is gone. Sent with the other such writes of
 * this turn (write-groups.ts), so its change stamp is the request's time, a little before the update time.
 */
export async function updateConnectionDocumentIfUnchanged(
  ref: DocumentReference,
  changes: UpdateData<ConnectionDocument>,
  updateTime: Timestamp,
): Promise<Timestamp | undefined> {
  try {
    const result = await updateInGroup(ref, { ...changes, ...changeStamp() }, { lastUpdateTime: updateTime });
    return result.writeTime;
  } catch (error) {
    if (isStaleVersionFailure(error)) return undefined;
    throw error;
  }
}

export function setConnectionDocument(transaction: Transaction, ref: DocumentReference, document: ConnectionDocument): void {
  transaction.set(ref, { ...document, ...changeStamp() });
}
