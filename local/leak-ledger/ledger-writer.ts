// Appends records to this process's own file in a run's ledger directory, synchronously: a worker killed mid-run loses nothing it wrote.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LedgerRecord } from './ledger-record.js';

export const LEDGER_FILE_SUFFIX = '.ndjson';

export interface LedgerWriter {
  readonly path: string;
  write(record: LedgerRecord): void;
  close(): void;
}

export function openLedgerWriter(runDir: string): LedgerWriter {
  // One file per writer (pid plus randomness: a worker re-imports modules per test file), so processes never interleave lines.
  const path = join(runDir, `${process.pid}-${randomBytes(4).toString('hex')}${LEDGER_FILE_SUFFIX}`);
  let fd: number | undefined;
  return {
    path,
    write(record) {
      if (fd === undefined) {
        try {
          fd = openSync(path, 'a', 0o600);
        } catch (error) {
          throw new Error(`The leak ledger directory ${runDir} cannot be written: the whole-run leak check would miss this process`, { cause: error });
        }
      }
      writeSync(fd, `${JSON.stringify(record)}\n`);
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
