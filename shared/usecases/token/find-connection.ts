// Finds the one connection a token request means: by account when named, else the only one the user has.
import { BrokerError } from '../../errors/broker-error.js';
import { connectionIdFor } from '../../store/connection-document.js';
import type { StoredConnection } from '../../store/connection-reads.js';
import type { ConnectionSource } from './connection-source.js';

export interface ConnectionSelector {
  readonly tenantId: string;
  readonly userId: string | null;
  readonly provider: string;
  readonly accountId?: string | undefined;
}

function notConnected(selector: ConnectionSelector): BrokerError {
  return new BrokerError(
    'not_connected',
    selector.userId === null
      ? 'The tenant has no connection to this provider'
      : 'The user has no connection to this provider: run the connect flow (authorize) first',
    { details: { provider: selector.provider, ...(selector.accountId === undefined ? {} : { accountId: selector.accountId }) } },
  );
}

export async function findConnection(source: ConnectionSource, selector: ConnectionSelector): Promise<StoredConnection> {
  if (selector.accountId !== undefined) {
    // The id is derived from who and what the connection is: one document read, no query.
    const id = connectionIdFor({ ...selector, providerAccountId: selector.accountId });
    const connection = await source.byId(id);
    if (connection === undefined || connection.document.status === 'revoked') throw notConnected(selector);
    return connection;
  }
  const connections = await source.byUser(selector);
  const [only, ...others] = connections;
  if (only === undefined) throw notConnected(selector);
  if (others.length > 0) {
    throw new BrokerError('ambiguous_account', 'Several accounts of this provider are connected: name one with accountId', {
      details: { provider: selector.provider, accountIds: connections.map((each) => each.document.providerAccountId).sort() },
    });
  }
  return only;
}
