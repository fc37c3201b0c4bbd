// Renders fault-matrix results as the text table `npm run bench` prints, and the documented outcomes as Markdown.
import { describeOutcome, faultTitles, matrixCells, matrixFaults, matrixPaths, pathTitles } from './cells.js';
import type { CellResult } from './run-cell.js';

/** Columns: fault, path, expected, observed, ok; failures list their problems under the row. */
export function renderResultTable(results: readonly CellResult[]): string {
  const rows = results.map((result) => {
    const { cell } = result;
    const expected = cell.applies ? describeOutcome(cell.expected) : `n/a: ${cell.reason}`;
    const observed = !cell.applies ? '-' : result.observed === undefined ? '(did not run)' : describeOutcome(result.observed);
    return { cells: [faultTitles[cell.fault], pathTitles[cell.path], expected, observed, !cell.applies ? 'n/a' : result.ok ? 'ok' : 'FAIL'], problems: result.problems };
  });
  const header = ['fault', 'path', 'expected', 'observed', 'ok'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row.cells[column] as string).length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] as number)).join('  ').trimEnd();
  const out = [line(header), line(widths.map((width) => '-'.repeat(width)))];
  for (const row of rows) {
    out.push(line(row.cells));
    for (const problem of row.problems) out.push(`    ! ${problem}`);
  }
  return out.join('\n');
}

/** One Markdown row per fault, one column per path: the documented outcome of every cell (docs/fault-matrix.md). */
export function renderExpectedMarkdown(): string {
  const header = `| fault | ${matrixPaths.map((path) => pathTitles[path]).join(' | ')} |`;
  const rule = `|---|${matrixPaths.map(() => '---').join('|')}|`;
  const rows = matrixFaults.map((fault) => {
    const cells = matrixPaths.map((path) => {
      const cell = matrixCells.find((each) => each.fault === fault && each.path === path);
      if (cell === undefined) throw new TypeError(`fault matrix: no cell ${fault} × ${path}`);
      return cell.applies ? describeOutcome(cell.expected) : `n/a: ${cell.reason}`;
    });
    return `| ${faultTitles[fault]} | ${cells.join(' | ')} |`;
  });
  return [header, rule, ...rows].join('\n');
}
