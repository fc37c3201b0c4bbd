// Which connection a proxied call uses, named by the headers of the client's wire contract (client/wire.ts):
// `x-broker-tenant-id`, `x-broker-user-id` (absent: the tenant-level connection), `x-broker-account-id` (optional).
import { type ConnectionName, connectionHeaderNames } from '../../../client/wire.js';
import { type RequestHeaders, requestHeader } from '../../auth/authenticate-caller.js';
import { BrokerError } from '../../errors/broker-error.js';
import type { ConnectionSelector } from '../token/find-connection.js';
import { tokenRequestSchema } from '../token/token-request.js';

// The same fields, checked the same way, as a token request names its connection with.
const namedConnectionSchema = tokenRequestSchema.pick({ tenantId: true, userId: true, accountId: true } satisfies Record<keyof ConnectionName, true>);

function invalid(fields: readonly string[]): BrokerError {
  const { tenantId, userId, accountId } = connectionHeaderNames;
  return new BrokerError('invalid_request', `Name the connection with ${tenantId}, and ${userId} / ${accountId} where needed`, {
    details: { fields },
  });
}

export function connectionSelectorFromHeaders(headers: RequestHeaders, provider: string): ConnectionSelector {
  const values: Record<string, string> = {};
  const repeated: string[] = [];
  for (const [field, name] of Object.entries(connectionHeaderNames)) {
    const value = requestHeader(headers, name);
    if (typeof value === 'string') values[field] = value;
    // Sent twice, a header names two connections: which one was meant is unknowable.
    else if (value !== undefined) repeated.push(name);
  }
  if (repeated.length > 0) throw invalid(repeated);
  const parsed = namedConnectionSchema.safeParse(values);
  if (!parsed.success) {
    throw invalid(parsed.error.issues.map((issue) => connectionHeaderNames[issue.path[0] as keyof typeof connectionHeaderNames] ?? '(headers)'));
  }
  return { tenantId: parsed.data.tenantId, userId: parsed.data.userId ?? null, provider, ...(parsed.data.accountId === undefined ? {} : { accountId: parsed.data.accountId }) };
}
