// `oauth-broker refresh <connectionId> | --all-expiring`: one refresh under the usual lease, or the refresh sweep.
import { type CommandContext, writeJson } from '../command-context.js';
import { printConnection } from '../connection-view.js';
import { printSweep } from '../sweep-summary.js';

export async function refreshCommand(context: CommandContext, command: { connectionId: string | null }): Promise<number> {
  if (command.connectionId === null) {
    const result = await context.client.refreshAllExpiring({ signal: context.signal });
    if (context.json) writeJson(context, result);
    else printSweep(context, 'refresh sweep', result);
    return 0;
  }
  const result = await context.client.refresh(command.connectionId, { signal: context.signal });
  if (context.json) writeJson(context, result);
  else {
    context.terminal.stdout(`${result.outcome}${result.reason === null ? '' : ` (${result.reason})`}\n\n`);
    printConnection(context, result.connection);
  }
  if (result.outcome === 'failed') {
    context.terminal.stderr(`oauth-broker: the refresh of ${result.connectionId} failed: ${result.reason ?? 'no reason given'}\n`);
    return 1;
  }
  return 0;
}
