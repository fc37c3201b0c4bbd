// Tees every line a broker logger writes in a test into the leak ledger, whatever sink and level the test gave it.
import type { LoggerOptions, Severity } from '../../../shared/log/logger.js';
import { ledgerActive, recordLogLine } from '../../../local/leak-ledger/leak-recorder.js';

const SEVERITY_FIELD = /^\{"severity":"([A-Z]+)"/;

/**
 * Logger options that produce every line down to DEBUG for the ledger (production may run at DEBUG or INFO while a
 * test asks for ERROR), and hand the caller's sink exactly the lines it asked for (stdout by default), as before.
 * `severities` is the logger's own ordered list, passed in because this runs while the logger module is being mocked.
 */
export function teeLoggerOptions(options: LoggerOptions = {}, severities: readonly Severity[]): LoggerOptions {
  if (!ledgerActive()) return options;
  // The logger's own default sink, restated: a sink given here replaces it.
  const sink = options.sink ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const wantedRank = severities.indexOf(options.minSeverity ?? 'INFO');
  // -1 when the line names no known severity: such a line is passed on, never hidden from the test.
  const rankOf = (line: string): number => severities.indexOf(SEVERITY_FIELD.exec(line)?.[1] as Severity);
  return {
    ...options,
    minSeverity: 'DEBUG',
    sink: (line) => {
      const rank = rankOf(line);
      if (rank < 0 || rank >= wantedRank) sink(line);
      recordLogLine('logger', line);
    },
  };
}
