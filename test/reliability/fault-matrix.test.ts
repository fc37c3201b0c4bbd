// The fault matrix: every fault × every path through the real functions, each cell ending in its documented
// outcome (docs/fault-matrix.md) with no lost refresh token, no half-written record and no leaked secret.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { faultTitles, matrixCells, matrixFaults } from './fault-matrix/cells.js';
import { startMatrixStack, type MatrixStack } from './fault-matrix/matrix-stack.js';
import { renderExpectedMarkdown, renderResultTable } from './fault-matrix/render-table.js';
import { runCell } from './fault-matrix/run-cell.js';
import { testProjectId } from '../support/firestore-test-project.js';

let stack: MatrixStack;

beforeAll(async () => {
  // google-gax may probe the GCE metadata server for a universe domain: nothing but loopback here.
  process.env.METADATA_SERVER_DETECTION = 'none';
  stack = await startMatrixStack({ firestoreEmulatorHost: inject('firestoreEmulatorHost'), projectId: testProjectId('fault-matrix') });
});

afterAll(async () => {
  await stack?.stop();
});

describe('fault matrix', () => {
  it('is documented: docs/fault-matrix.md holds every cell’s expected outcome as the matrix defines it', () => {
    const documentation = readFileSync(new URL('../../docs/fault-matrix.md', import.meta.url), 'utf8');
    expect(documentation).toContain(renderExpectedMarkdown());
  });

  describe.each(matrixFaults.map((fault) => [faultTitles[fault], fault] as const))('%s', (_title, fault) => {
    it('ends in the documented outcome on every path, with no lost token, half-written record or leak', async () => {
      const results = [];
      for (const cell of matrixCells.filter((each) => each.fault === fault)) results.push(await runCell(stack, cell));
      const failed = results.filter((result) => !result.ok);
      expect(failed, `\n${renderResultTable(results)}\n`).toEqual([]);
    });
  });
});
