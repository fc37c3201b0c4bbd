// Copies each test file's duration from vitest's results cache into test/support/file-durations.json, which orders
// the files of a run on a clean clone (test/support/longest-first-sequencer.ts). Run it after a full `npm test`.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { FILE_DURATIONS_PATH, type FileDurations } from '../test/support/file-durations.js';

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const cacheRoot = join(repoRoot, 'node_modules/.vite/vitest');

/** Vitest's results.json: [`<project name>:<file>`, { duration }] pairs. */
const resultsCacheSchema = z.object({ results: z.array(z.tuple([z.string(), z.object({ duration: z.number() }).loose()])) }).loose();

const cacheFiles = existsSync(cacheRoot)
  ? readdirSync(cacheRoot).map((folder) => join(cacheRoot, folder, 'results.json')).filter((file) => existsSync(file))
  : [];
if (cacheFiles.length === 0) {
  process.stderr.write(`No vitest results cache under ${cacheRoot}: run the whole suite (npm test) first.\n`);
  process.exit(1);
}

const durations: FileDurations = {};
for (const file of cacheFiles) {
  for (const [key, { duration }] of resultsCacheSchema.parse(JSON.parse(readFileSync(file, 'utf8'))).results) {
    const path = key.slice(key.indexOf(':') + 1);
    // Files deleted since, and anything that is not a test file of this repository, stay out.
    if (path.endsWith('.test.ts') && existsSync(join(repoRoot, path))) durations[path] = Math.round(duration / 100) * 100;
  }
}
const sorted = Object.fromEntries(Object.entries(durations).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(join(repoRoot, FILE_DURATIONS_PATH), `${JSON.stringify(sorted, null, 2)}\n`);
process.stdout.write(`Recorded the durations of ${Object.keys(sorted).length} test files in ${FILE_DURATIONS_PATH}.\n`);
