// Test runner setup: the global setup starts one Firestore emulator for the whole run (files isolate by project id) and ends the run with the leak check.
import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/support/longest-first-sequencer.js';
import { SummaryReporter } from './test/support/summary-reporter.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Taps every test file's loggers and served functions into the whole-run leak check (test/support/leak-ledger).
    setupFiles: ['test/support/leak-ledger/worker-setup.ts'],
    // Firestore emulator transaction aborts cost seconds; size timeouts for that, not for speed.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // Longest files first, on a clean clone too: two workers then finish together instead of one running a long file alone.
    sequence: { sequencer: LongestFirstSequencer },
    reporters: ['default', new SummaryReporter()],
  },
});
