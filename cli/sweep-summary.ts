// How a sweep's result reads: where it ran, and its counts as `name: value` lines.
import type { SweepResult } from './admin-client.js';
import type { CommandContext } from './command-context.js';
import { renderFields } from './text-table.js';

export function printSweep(context: CommandContext, what: string, result: SweepResult): void {
  if (result.ranIn === 'cloud_scheduler') {
    context.terminal.stdout(`Started the ${what} in Cloud Scheduler job ${result.schedulerJob ?? '(unnamed)'}; its results are in the refresh function's logs.\n`);
    return;
  }
  context.terminal.stdout(`Ran the ${what} in the admin function:\n`);
  context.terminal.stdout(renderFields(Object.entries(result.summary ?? {}).map(([name, value]) => [`  ${name}`, value] as const)));
}
