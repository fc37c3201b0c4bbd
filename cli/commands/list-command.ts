// `oauth-broker list`: connections, one page or (with --all) every page, following the opaque cursor.
import type { ConnectionList, ListFilters } from '../admin-client.js';
import { type CommandContext, writeJson } from '../command-context.js';
import { connectionColumns } from '../connection-view.js';
import { renderTable } from '../text-table.js';

export async function listCommand(context: CommandContext, command: { filters: ListFilters; all: boolean }): Promise<number> {
  const connections: ConnectionList['connections'] = [];
  let cursor = command.filters.cursor;
  let nextCursor: string | null = null;
  let pages = 0;
  do {
    const page = await context.client.listConnections({ ...command.filters, ...(cursor === undefined ? {} : { cursor }) }, { signal: context.signal });
    connections.push(...page.connections);
    nextCursor = page.nextCursor;
    cursor = nextCursor ?? undefined;
    pages += 1;
    if (command.all && nextCursor !== null) context.terminal.stderr(`fetched ${connections.length} connections (${pages} pages)...\n`);
  } while (command.all && nextCursor !== null);

  if (context.json) {
    writeJson(context, { connections, nextCursor });
    return 0;
  }
  if (connections.length === 0) {
    context.terminal.stdout('No connections match.\n');
    return 0;
  }
  context.terminal.stdout(renderTable(connections, connectionColumns));
  context.terminal.stderr(`${connections.length} connection${connections.length === 1 ? '' : 's'}\n`);
  if (nextCursor !== null) context.terminal.stderr(`More match: add --all, or --cursor ${nextCursor} for the next page.\n`);
  return 0;
}
