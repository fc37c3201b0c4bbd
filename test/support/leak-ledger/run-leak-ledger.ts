// The global setup's part of the leak ledger: opens the run's ledger directory before any worker starts, and at the very end
// runs the leak check, prints its summary line and fails the run on a leak or an implausibly empty ledger.
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LEDGER_DIR_VARIABLE } from '../../../local/leak-ledger/ledger-record.js';
import { runLeakCheck } from './leak-check.js';

/** Where runs keep their ledgers, under the project root (test-results/ is git-ignored). */
export const LEDGER_ROOT = join('test-results', 'leak-ledger');
/** The vitest setup file that taps loggers and functions in every worker; without it the check would search nothing. */
export const WORKER_SETUP_FILE = 'test/support/leak-ledger/worker-setup.ts';
// A failed run keeps its ledger for inspection; a day later it is swept away by the next run.
const STALE_RUN_MS = 24 * 3600 * 1000;

let runDir: string | undefined;

function sweepStaleRuns(root: string): void {
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_RUN_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another run swept it first.
    }
  }
}

/** Call from the global setup: `setupFiles` is the project's resolved list, `root` its root directory. */
export function beginLeakLedger(options: { root: string; setupFiles: readonly string[] }): string {
  const expected = resolve(options.root, WORKER_SETUP_FILE);
  if (!options.setupFiles.some((file) => resolve(options.root, file) === expected)) {
    throw new Error(`vitest.config.ts must list ${WORKER_SETUP_FILE} in setupFiles: without it the whole-run leak check would check nothing`);
  }
  const root = resolve(options.root, LEDGER_ROOT);
  mkdirSync(root, { recursive: true });
  sweepStaleRuns(root);
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
  runDir = join(root, runId);
  mkdirSync(runDir, { mode: 0o700 });
  // Workers and the processes tests spawn inherit it: each appends to its own file there.
  process.env[LEDGER_DIR_VARIABLE] = runDir;
  return runDir;
}

/**
 * Call from the global teardown while the emulator is still up. A throw from a global teardown alone leaves vitest's exit
 * code at 0 (vitest 4 only logs "error during close"), so a failure also sets process.exitCode.
 */
export async function finishLeakLedger(emulatorHost: string | undefined): Promise<void> {
  const dir = runDir;
  runDir = undefined;
  if (dir === undefined) return;
  delete process.env[LEDGER_DIR_VARIABLE];
  const startedMs = Date.now();
  const result = await runLeakCheck({ runDir: dir, ...(emulatorHost === undefined ? {} : { emulatorHost }) });
  process.stderr.write(`\n${result.summary}, checked in ${((Date.now() - startedMs) / 1000).toFixed(1)} s\n`);
  if (result.failures.length === 0) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  process.stderr.write(`${result.failures.map((failure) => `  ✗ ${failure}`).join('\n')}\n  (ledger kept in ${dir})\n`);
  process.exitCode = 1;
  throw new Error(`The whole-run leak check failed: ${result.failures.length} problem(s), listed above`);
}
