// The re-wrap progress bar: redrawn in place on a terminal, a line per update in a log.
import { describe, expect, it } from 'vitest';
import { createProgressBar, renderBar } from '../../cli/progress-bar.js';

describe('progress bar', () => {
  it('fills in proportion and never overflows', () => {
    expect(renderBar(0, 1000, 10)).toBe('[..........]   0% 0/1000');
    expect(renderBar(250, 1000, 10)).toBe('[###.......]  25% 250/1000');
    expect(renderBar(1000, 1000, 10)).toBe('[##########] 100% 1000/1000');
    expect(renderBar(1200, 1000, 10)).toBe('[##########] 100% 1200/1000');
    expect(renderBar(0, 0, 10)).toBe('[##########] 100% 0/0');
  });

  it('redraws one line on a terminal and ends it when finished', () => {
    let written = '';
    const bar = createProgressBar({ write: (text) => (written += text), interactive: true, width: 4 });
    bar.update(1, 2, 'half');
    bar.update(2, 2, '');
    bar.finish();
    bar.finish();
    expect(written).toBe('\r[##..]  50% 1/2  half\x1b[K\r[####] 100% 2/2\x1b[K\n');
  });

  it('prints a plain line per update for logs, without control characters', () => {
    let written = '';
    const bar = createProgressBar({ write: (text) => (written += text), interactive: false, width: 4 });
    bar.update(1, 4, 'a');
    bar.update(4, 4, 'b');
    bar.finish();
    expect(written).toBe('[#...]  25% 1/4  a\n[####] 100% 4/4  b\n');
  });
});
