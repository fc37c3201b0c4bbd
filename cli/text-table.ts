// Plain-text tables for humans: left-aligned columns padded to the widest cell, numbers right-aligned.

export interface Column<Row> {
  readonly header: string;
  readonly value: (row: Row) => string | number | null;
  readonly align?: 'left' | 'right';
}

// Control characters from stored values (a display name, say) must not move the terminal's cursor.
const printable = (text: string) => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = rows.map((row) => columns.map((column) => {
    const value = column.value(row);
    return value === null ? '-' : printable(String(value));
  }));
  const widths = columns.map((column, index) => Math.max(column.header.length, ...cells.map((row) => row[index]?.length ?? 0)));
  const line = (values: readonly string[]) =>
    values
      .map((value, index) => {
        const width = widths[index] ?? 0;
        const align = columns[index]?.align ?? 'left';
        return align === 'right' ? value.padStart(width) : value.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header)), ...cells.map(line)].join('\n') + '\n';
}

/** `name: value` lines with the names aligned, for one record. */
export function renderFields(fields: readonly (readonly [string, string | number | boolean | null])[]): string {
  const width = Math.max(0, ...fields.map(([name]) => name.length));
  return fields.map(([name, value]) => `${`${name}:`.padEnd(width + 1)} ${value === null ? '-' : printable(String(value))}`).join('\n') + '\n';
}
