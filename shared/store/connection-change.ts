// Every write to a connection document stamps its commit time, on Firestore's clock, in `changedAt`. The token
// function's cache (shared/usecases/token/connection-cache.ts) learns of changes through one listener on that field,
// so these two writers are the only way a connection document is written; a test holds every module to it.
import { type DocumentReference, FieldValue, type Transaction, type UpdateData } from '@google-cloud/firestore';
import type { ConnectionDocument } from './connection-document.js';

/** Only the change listener (connection-watch.ts) looks at it. */
export const CHANGE_STAMP_FIELD = 'changedAt' satisfies keyof ConnectionDocument;

/** The stamp itself, for the two writers below (and test fixtures that write documents as the broker would). */
export function changeStamp(): { [CHANGE_STAMP_FIELD]: FieldValue } {
  return { [CHANGE_STAMP_FIELD]: FieldValue.serverTimestamp() };
}

export function updateConnectionDocument(transaction: Transaction, ref: DocumentReference, changes: UpdateData<ConnectionDocument>): void {
  transaction.update(ref, { ...changes, ...changeStamp() });
}

export function setConnectionDocument(transaction: Transaction, ref: DocumentReference, document: ConnectionDocument): void {
  transaction.set(ref, { ...document, ...changeStamp() });
}
