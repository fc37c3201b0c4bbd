// `oauth-broker revoke <connectionId>`: revocation cannot be undone, so it is confirmed on a terminal and
// demands --yes anywhere else.
import { type CommandContext, writeJson } from '../command-context.js';
import { printConnection } from '../connection-view.js';
import { UsageError } from '../usage-error.js';

export async function revokeCommand(context: CommandContext, command: { connectionId: string; yes: boolean }): Promise<number> {
  if (!command.yes) {
    if (!context.terminal.stdinIsTTY) {
      throw new UsageError(`revoke destroys ${command.connectionId}'s credentials for good: pass --yes to confirm when not on a terminal`);
    }
    const { connection } = await context.client.connection(command.connectionId, { signal: context.signal });
    const who = `${connection.provider} account ${connection.accountId} of tenant ${connection.tenantId}${connection.userId === null ? '' : `, user ${connection.userId}`}`;
    const confirmed = await context.terminal.confirm(
      `Revoke ${connection.connectionId} (${who}, ${connection.status})? The grant is revoked at the provider and its credentials destroyed; the user must connect again. [y/N] `,
    );
    if (!confirmed) {
      context.terminal.stderr('Not revoked.\n');
      return 1;
    }
  }
  const result = await context.client.revoke(command.connectionId, { signal: context.signal });
  const { outcome, reason } = result.providerRevocation;
  if (outcome === 'failed') {
    context.terminal.stderr(
      `oauth-broker: warning: the provider did not confirm the revocation (${reason ?? 'no reason given'}); the credentials are destroyed here all the same\n`,
    );
  }
  if (context.json) {
    writeJson(context, result);
    return 0;
  }
  context.terminal.stdout(`Revoked ${result.connectionId}; credentials destroyed; at the provider: ${outcome}${reason === undefined ? '' : ` (${reason})`}\n\n`);
  printConnection(context, result.connection);
  return 0;
}
