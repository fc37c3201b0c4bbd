// `oauth-broker inspect <connectionId>`: one connection's state and its audit trail, newest first.
import { type CommandContext, shortTime, writeJson } from '../command-context.js';
import { printConnection } from '../connection-view.js';
import { renderTable } from '../text-table.js';

export async function inspectCommand(context: CommandContext, command: { connectionId: string }): Promise<number> {
  const detail = await context.client.connection(command.connectionId, { signal: context.signal });
  if (context.json) {
    writeJson(context, detail);
    return 0;
  }
  printConnection(context, detail.connection);
  context.terminal.stdout(`\naudit trail (${detail.audit.length} entries, newest first):\n`);
  if (detail.audit.length === 0) return 0;
  context.terminal.stdout(
    renderTable(detail.audit, [
      { header: 'AT', value: (entry) => shortTime(entry.at) },
      { header: 'ACTION', value: (entry) => entry.action },
      { header: 'ACTOR', value: (entry) => (entry.actor.id === null ? entry.actor.type : `${entry.actor.type}:${entry.actor.id}`) },
      { header: 'OUTCOME', value: (entry) => entry.outcome },
      { header: 'REASON', value: (entry) => entry.reason },
    ]),
  );
  return 0;
}
