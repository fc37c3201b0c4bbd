// The writes of one atomic unit (an outcome, its event, its audit entry), as the code that builds them sees them: the
// part of a Transaction and a WriteBatch it uses. Built into a transaction directly, or recorded first and added to a
// shared commit only once the whole unit was built (write-groups.ts), so a unit that fails halfway adds nothing.
import type { DocumentData, DocumentReference, Precondition, UpdateData, WithFieldValue, WriteBatch } from '@google-cloud/firestore';

export interface AtomicWrites {
  create<AppModelType, DbModelType extends DocumentData>(ref: DocumentReference<AppModelType, DbModelType>, data: WithFieldValue<AppModelType>): unknown;
  update<AppModelType, DbModelType extends DocumentData>(ref: DocumentReference<AppModelType, DbModelType>, data: UpdateData<DbModelType>, precondition?: Precondition): unknown;
}

/** Writes kept in order until `addTo` puts them in a batch: nothing reaches one from a unit whose building threw. */
export class RecordedWrites implements AtomicWrites {
  readonly #writes: ((batch: WriteBatch) => void)[] = [];

  create<AppModelType, DbModelType extends DocumentData>(ref: DocumentReference<AppModelType, DbModelType>, data: WithFieldValue<AppModelType>): void {
    this.#writes.push((batch) => batch.create(ref, data));
  }

  update<AppModelType, DbModelType extends DocumentData>(ref: DocumentReference<AppModelType, DbModelType>, data: UpdateData<DbModelType>, precondition?: Precondition): void {
    this.#writes.push((batch) => (precondition === undefined ? batch.update(ref, data) : batch.update(ref, data, precondition)));
  }

  addTo(batch: WriteBatch): void {
    for (const write of this.#writes) write(batch);
  }
}
