// Keeps stored documents from escaping the leak ledger: every project a Firestore client is made for is noted (the end of the
// run dumps what is left in it), and a test wiping collections itself with recursiveDelete dumps the project first.
import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../../../shared/config/config.js';
import { ledgerActive, noteFirestoreProject, recordStoredDocuments } from '../../../local/leak-ledger/leak-recorder.js';

/** Notes the project a broker Firestore client is made for, when it lives on an emulator. */
export function noteClientProject(config: Config): void {
  const { emulatorHost, databaseId } = config.firestore;
  if (emulatorHost) noteFirestoreProject(config.projectId, { emulatorHost, databaseId });
}

// Projects already dumped by a wipe in the current test: a loop deleting collection after collection dumps once.
const dumpedThisTest = new Set<string>();

/** Call before each test: its wipes dump again. */
export function startTestForDeleteTap(): void {
  dumpedThisTest.clear();
}

/** Wraps Firestore.prototype.recursiveDelete so the whole project is recorded before the first wipe of each test. */
export function tapRecursiveDelete(firestoreClass: typeof Firestore, runEmulatorHost: () => string): void {
  const prototype = firestoreClass.prototype as Firestore & { recursiveDeleteTapped?: true };
  if (prototype.recursiveDeleteTapped) return;
  const recursiveDelete = prototype.recursiveDelete;
  prototype.recursiveDelete = async function tappedRecursiveDelete(this: Firestore, ...args: Parameters<Firestore['recursiveDelete']>) {
    if (ledgerActive()) {
      // Internal to the client, but set from the settings at construction, which every client here names.
      const { projectId, databaseId } = this as Firestore & { projectId: string; databaseId: string };
      const key = `${projectId} ${databaseId}`;
      if (!dumpedThisTest.has(key)) {
        dumpedThisTest.add(key);
        await recordStoredDocuments(runEmulatorHost(), projectId, databaseId);
      }
    }
    return recursiveDelete.apply(this, args);
  };
  prototype.recursiveDeleteTapped = true;
}
