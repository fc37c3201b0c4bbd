// Real Firestore contention on the emulator: a second client holds a document's lock with a transaction that reads it,
// waits, then writes it. What the function under test meets depends on how it writes: a transaction that touches the
// document meanwhile is aborted by the emulator (ABORTED: lock timeout) and retried by the client library; a write
// conditioned on the version its writer last saw (the refresh lease's claims and commits) waits for the lock and then
// finds the document changed (FAILED_PRECONDITION), and its writer reads again. This module counts both.
import { type DocumentReference, type Firestore, setLogFunction, type UpdateData } from '@google-cloud/firestore';

export interface LockHolding {
  /** Settles when the competing transaction committed; how many times its body ran (1: it was never the one aborted). */
  readonly done: Promise<{ readonly attempts: number }>;
}

/**
 * Reads `path` in a transaction on `competitor`, resolves `locked` once the read is in, waits `holdMs`, then commits
 * `write` (built from what it read). The emulator locks a document a transaction has read until it commits.
 */
export function holdDocumentLock(
  competitor: Firestore,
  path: string,
  holdMs: number,
  write: (data: Record<string, unknown>) => UpdateData<Record<string, unknown>>,
): { locked: Promise<void>; holding: LockHolding } {
  let attempts = 0;
  let markLocked: () => void = () => undefined;
  const locked = new Promise<void>((resolve) => (markLocked = resolve));
  const ref = competitor.doc(path) as DocumentReference<Record<string, unknown>>;
  const done = competitor
    .runTransaction(async (transaction) => {
      attempts += 1;
      const snapshot = await transaction.get(ref);
      markLocked();
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      transaction.update(ref, write(snapshot.data() ?? {}));
    })
    .then(() => ({ attempts }));
  return { locked, holding: { done } };
}

/**
 * Counts, from the Firestore client's own debug log (the one place it reports them), the transactions in this process
 * retried after ABORTED and the writes refused with FAILED_PRECONDITION, whether a commit's (an RPC error) or one write's
 * in a BatchWrite group (a per-write status, which the client's BulkWriter reports by code). `stop()` restores silence and
 * returns the count.
 */
export function countContentionMet(): { stop(): number } {
  let met = 0;
  setLogFunction((message) => {
    if (message.includes('Retrying transaction after error') && message.includes('ABORTED')) met += 1;
    else if (message.includes('Received error') && message.includes('FAILED_PRECONDITION')) met += 1;
    else if (message.includes('[BulkWriter.errorFn]') && message.includes('error code: 9 ')) met += 1;
  });
  return {
    stop: () => {
      setLogFunction(null);
      return met;
    },
  };
}
