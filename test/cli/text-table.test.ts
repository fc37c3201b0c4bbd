// Tables and field blocks for humans: aligned, and deaf to control characters in stored values.
import { describe, expect, it } from 'vitest';
import { renderFields, renderTable } from '../../cli/text-table.js';

describe('text tables', () => {
  it('pads columns to the widest cell, right-aligns numbers, and shows null as -', () => {
    const rows = [
      { name: 'slack', count: 12, note: null },
      { name: 'google-workspace', count: 3, note: 'x' },
    ];
    expect(
      renderTable(rows, [
        { header: 'NAME', value: (row) => row.name },
        { header: 'COUNT', value: (row) => row.count, align: 'right' },
        { header: 'NOTE', value: (row) => row.note },
      ]),
    ).toBe(['NAME              COUNT  NOTE', 'slack                12  -', 'google-workspace      3  x', ''].join('\n'));
  });

  it('neutralises escape sequences a stored value could carry', () => {
    const text = renderTable([{ name: 'evil\x1b[2J\rname' }], [{ header: 'NAME', value: (row) => row.name }]);
    expect(text).not.toContain('\x1b');
    expect(text).not.toContain('\r');
    expect(renderFields([['name', 'a\nb']])).toBe('name: a?b\n');
  });
});
