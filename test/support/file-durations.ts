// The committed duration of each test file, from a full run: how a run on a clean clone orders its files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** Where the durations live, relative to the repository root (written by `npm run test:durations`). */
export const FILE_DURATIONS_PATH = 'test/support/file-durations.json';

/** Milliseconds per test file (its path from the repository root), as a full run measured them. */
export const fileDurationsSchema = z.record(z.string(), z.number().nonnegative());
export type FileDurations = z.infer<typeof fileDurationsSchema>;

export function readFileDurations(repoRoot: string): FileDurations {
  return fileDurationsSchema.parse(JSON.parse(readFileSync(join(repoRoot, FILE_DURATIONS_PATH), 'utf8')));
}
