// How a connection reads to an operator: a table row in `list`, a block of fields in `inspect` and after actions.
import type { ConnectionDetail } from './admin-client.js';
import { type CommandContext, shortTime } from './command-context.js';
import { type Column, renderFields } from './text-table.js';

type AdminConnection = ConnectionDetail['connection'];

export const connectionColumns: readonly Column<AdminConnection>[] = [
  { header: 'CONNECTION', value: (c) => c.connectionId },
  { header: 'TENANT', value: (c) => c.tenantId },
  { header: 'USER', value: (c) => c.userId },
  { header: 'PROVIDER', value: (c) => c.provider },
  { header: 'ACCOUNT', value: (c) => c.accountId },
  { header: 'STATUS', value: (c) => c.status },
  { header: 'HEALTH', value: (c) => c.health.status },
  { header: 'EXPIRES', value: (c) => shortTime(c.expiresAt) },
  { header: 'UPDATED', value: (c) => shortTime(c.updatedAt) },
];

export function connectionFields(connection: AdminConnection): string {
  const metadata = Object.entries(connection.metadata).map(([name, value]) => `${name}=${value}`).join(' ');
  return renderFields([
    ['connection', connection.connectionId],
    ['tenant', connection.tenantId],
    ['user', connection.userId],
    ['provider', `${connection.provider} (${connection.kind})`],
    ['account', connection.displayName === null ? connection.accountId : `${connection.accountId} (${connection.displayName})`],
    ['status', connection.statusReason === null ? connection.status : `${connection.status} (${connection.statusReason})`],
    ['health', [connection.health.status, connection.health.errorCode, connection.health.latencyMs === null ? null : `${connection.health.latencyMs} ms`, shortTime(connection.health.checkedAt)].filter((part) => part !== null).join(', ')],
    ['scopes', connection.scopes.join(' ') || null],
    ['expires', shortTime(connection.expiresAt)],
    ['last refresh', shortTime(connection.refresh.lastRefreshAt)],
    ['next refresh', shortTime(connection.refresh.nextRefreshAt)],
    ['refresh failures', connection.refresh.lastErrorCode === null ? connection.refresh.consecutiveFailures : `${connection.refresh.consecutiveFailures} (last: ${connection.refresh.lastErrorCode})`],
    ['credentials', connection.hasCredentials ? `sealed (${connection.sealedWithKeyVersion ?? 'unknown key version'})` : 'none (destroyed)'],
    ['metadata', metadata || null],
    ['created', shortTime(connection.createdAt)],
    ['updated', shortTime(connection.updatedAt)],
    ['revoked', shortTime(connection.revokedAt)],
  ]);
}

export function printConnection(context: CommandContext, connection: AdminConnection): void {
  context.terminal.stdout(connectionFields(connection));
}
