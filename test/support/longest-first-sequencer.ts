// Orders test files longest first, so a run on two workers never ends with one long file running alone.
//
// Vitest does this by itself only from its results cache (node_modules/.vite/vitest), which a clean clone (CI) lacks:
// it then starts the largest files first, and a short file with a long wait in it (a 20-round stall test) starts
// last. So a file's duration comes from that cache where it knows the file, else from the committed durations
// (file-durations.ts), else it counts as NEW_FILE_MS.
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { readFileDurations } from './file-durations.js';

/** A file no run has timed yet: early enough that a slow new file does not end the run, after the known long ones. */
const NEW_FILE_MS = 10_000;

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { root } = this.ctx.config;
    const committed = readFileDurations(root);
    const estimate = (spec: TestSpecification): number => {
      const path = relative(root, spec.moduleId);
      return this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`)?.duration ?? committed[path] ?? NEW_FILE_MS;
    };
    const estimates = new Map(files.map((spec) => [spec, estimate(spec)]));
    return [...files].sort((a, b) => (estimates.get(b) ?? 0) - (estimates.get(a) ?? 0));
  }
}
