// `oauth-broker health <connectionId> | --all`: a health check at the provider now, or the health sweep.
import { type CommandContext, writeJson } from '../command-context.js';
import { printConnection } from '../connection-view.js';
import { printSweep } from '../sweep-summary.js';

export async function healthCommand(context: CommandContext, command: { connectionId: string | null }): Promise<number> {
  if (command.connectionId === null) {
    const result = await context.client.checkAllHealth({ signal: context.signal });
    if (context.json) writeJson(context, result);
    else printSweep(context, 'health sweep', result);
    return 0;
  }
  const result = await context.client.checkHealth(command.connectionId, { signal: context.signal });
  if (context.json) {
    writeJson(context, result);
    return 0;
  }
  const reason = result.reason === null ? '' : ` (${result.reason})`;
  const latency = result.latencyMs === null ? '' : `, ${result.latencyMs} ms`;
  context.terminal.stdout(`${result.outcome}${reason}${latency}${result.refreshed ? ', after refreshing the grant' : ''}\n\n`);
  printConnection(context, result.connection);
  return 0;
}
