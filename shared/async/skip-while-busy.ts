// For work started by a timer: a tick that finds the previous run still going is skipped, not queued beside it. A
// timer that starts writes regardless of whether the last one finished turns a slow database into a pile of
// outstanding writes, each slowing the rest (the Firestore emulator grew to ~1,400 blocked commit threads this way).

/** Wraps `run`: calling the result starts `run` unless a previous call's run is still in progress; says whether it did. */
export function skipWhileBusy(run: () => Promise<unknown>): () => boolean {
  let busy = false;
  return () => {
    if (busy) return false;
    busy = true;
    // A run that throws synchronously or rejects frees the slot all the same; its failure is the run's to report.
    Promise.resolve()
      .then(run)
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
    return true;
  };
}
