// The run order of test files: longest first, from vitest's cache where it has timed a file, else the committed durations.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { TestSpecification, Vitest } from 'vitest/node';
import { readFileDurations } from './file-durations.js';
import { LongestFirstSequencer } from './longest-first-sequencer.js';

const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const committed = readFileDurations(root);

function order(paths: readonly string[], cached: Readonly<Record<string, number>>): Promise<string[]> {
  const ctx = {
    config: { root },
    cache: { getFileTestResults: (key: string) => (key in cached ? { duration: cached[key], failed: false } : undefined) },
  } as unknown as Vitest;
  const specs = paths.map((path) => ({ moduleId: `${root}/${path}`, project: { name: '' } }) as unknown as TestSpecification);
  return new LongestFirstSequencer(ctx).sort(specs).then((sorted) => sorted.map((spec) => spec.moduleId.slice(root.length + 1)));
}

describe('the longest-first sequencer', () => {
  const byDuration = Object.keys(committed).sort((a, b) => (committed[b] as number) - (committed[a] as number));
  const [longest, second, short] = [byDuration[0], byDuration[1], byDuration.at(-1)];

  it('starts the longest committed files first on a clean clone (no results cache)', async () => {
    expect(committed[longest as string]).toBeGreaterThan(committed[short as string] as number);
    expect(await order([short, second, longest] as string[], {})).toEqual([longest, second, short]);
  });

  it('prefers what the results cache measured, and places a file nobody timed after the long ones', async () => {
    const cached = { [`:${short}`]: (committed[longest as string] as number) + 1 };
    expect(await order([longest, 'test/new-file.test.ts', short] as string[], cached)).toEqual([short, longest, 'test/new-file.test.ts']);
  });
});
