// Prints one plain closing line, "N passed, N failed, N skipped", that CI tooling reads after vitest's own summary.
import type { Reporter, TestModule } from 'vitest/node';

export class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const testModule of testModules) {
      for (const test of testModule.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
      // A file that failed outside its tests (it did not load, or a beforeAll hook failed and its tests were skipped)
      // must still count as a failure: otherwise this line says 0 failed for a run vitest failed.
      const testFailed = [...testModule.children.allTests()].some((test) => test.result().state === 'failed');
      if (testModule.state() === 'failed' && !testFailed) failed += 1;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
