// `oauth-broker stats`: the numbers at a glance.
import { type CommandContext, writeJson } from '../command-context.js';
import { renderTable } from '../text-table.js';

export async function statsCommand(context: CommandContext): Promise<number> {
  const stats = await context.client.stats({ signal: context.signal });
  if (context.json) {
    writeJson(context, stats);
    return 0;
  }
  const statuses = Object.keys(stats.byStatus) as (keyof typeof stats.byStatus)[];
  const out = context.terminal.stdout;
  out(`${stats.total} connections (as of ${stats.generatedAt})\n\n`);
  out(
    renderTable(
      [...stats.byProvider, { provider: 'all', total: stats.total, byStatus: stats.byStatus }],
      [
        { header: 'PROVIDER', value: (row) => row.provider },
        { header: 'TOTAL', value: (row) => row.total, align: 'right' },
        ...statuses.map((status) => ({ header: status.toUpperCase(), value: (row: { byStatus: typeof stats.byStatus }) => row.byStatus[status] ?? 0, align: 'right' as const })),
      ],
    ),
  );
  if (stats.unlistedProviders > 0) out(`${stats.unlistedProviders} of providers this broker no longer lists\n`);
  out(`\nhealth of live connections: ${Object.entries(stats.health).map(([status, count]) => `${status} ${count}`).join(', ')}\n`);
  return 0;
}
