// A text progress bar on stderr: redrawn in place on a terminal, one line per update in a log (CI, pipes).

export interface ProgressBarOptions {
  readonly write: (text: string) => void;
  /** Redraw in place with `\r`; otherwise print each update on its own line. */
  readonly interactive: boolean;
  readonly width?: number;
}

export interface ProgressBar {
  update(done: number, total: number, note: string): void;
  /** Ends the in-place line so later output starts on a fresh one. */
  finish(): void;
}

export function renderBar(done: number, total: number, width: number): string {
  const fraction = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(fraction * width);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent} ${done}/${total}`;
}

export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const width = options.width ?? 30;
  let open = false;
  return {
    update(done, total, note) {
      const line = `${renderBar(done, total, width)}${note === '' ? '' : `  ${note}`}`;
      if (options.interactive) {
        // \x1b[K clears what a longer previous line left behind.
        options.write(`\r${line}\x1b[K`);
        open = true;
      } else {
        options.write(`${line}\n`);
      }
    },
    finish() {
      if (open) options.write('\n');
      open = false;
    },
  };
}
