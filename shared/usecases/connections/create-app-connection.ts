// Tenant-level connections the product backend creates without a user: app-only tokens (client credentials)
// and pasted API keys, each proven at the provider before anything is stored.
import { z } from 'zod';
import { BrokerError } from '../../errors/broker-error.js';
import { connectWithApiKey } from '../../oauth/api-key-connection.js';
import { clientCredentialsGrant } from '../../oauth/grants.js';
import { parseAppOnlyConnectionConfig, parseConnectionConfig } from '../../providers/connection-config.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { providerClient } from '../connect/provider-client.js';
import { storeConnectedGrant } from './store-connected-grant.js';

const identifier = z.string().min(1).max(256);

export const clientCredentialsRequestSchema = z
  .object({
    tenantId: identifier,
    provider: z.string().min(1).max(64),
    scopes: z.array(z.string().min(1).max(512)).max(100).default([]),
    connectionConfig: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const apiKeyRequestSchema = z
  .object({
    tenantId: identifier,
    /** Absent or null: a key for the whole tenant. */
    userId: identifier.nullable().default(null),
    provider: z.string().min(1).max(64),
    apiKey: z.string().min(1).max(4096),
    connectionConfig: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export interface CreatedConnection {
  readonly connectionId: string;
  readonly provider: string;
  readonly accountId: string;
  readonly displayName: string | null;
  readonly status: 'active';
  /** False when the same account was connected before and this updated it. */
  readonly created: boolean;
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    // Field names only: a value here may be an API key.
    throw new BrokerError('invalid_request', 'The request is invalid', {
      details: { fields: [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(body)'))] },
    });
  }
  return parsed.data;
}

export async function createClientCredentialsConnection(runtime: BrokerRuntime, callerEmail: string, body: unknown): Promise<CreatedConnection> {
  const request = parse(clientCredentialsRequestSchema, body);
  runtime.callerPolicy.authorize(callerEmail, { action: 'manage_connections', tenantId: request.tenantId, provider: request.provider });
  const provider = runtime.catalog.resolve(request.provider);
  if (provider.clientCredentials === undefined) {
    throw new BrokerError('invalid_request', `${provider.displayName} offers no app-only (client credentials) connections`, {
      details: { provider: provider.id },
    });
  }
  const connectionConfig = parseAppOnlyConnectionConfig(provider, request.connectionConfig);
  const grant = await clientCredentialsGrant(runtime.oauth(), provider, {
    client: providerClient(runtime, provider),
    scopes: request.scopes,
    connectionConfig,
  });
  const stored = await storeConnectedGrant(runtime, {
    tenantId: request.tenantId,
    userId: null,
    provider: provider.id,
    kind: 'client_credentials',
    grant,
    connectionConfig,
    actor: { type: 'service_account', id: callerEmail },
  });
  return { connectionId: stored.connectionId, provider: provider.id, accountId: grant.providerAccountId, displayName: grant.displayName ?? null, status: 'active', created: stored.created };
}

export async function createApiKeyConnection(runtime: BrokerRuntime, callerEmail: string, body: unknown): Promise<CreatedConnection> {
  const request = parse(apiKeyRequestSchema, body);
  runtime.callerPolicy.authorize(callerEmail, { action: 'manage_connections', tenantId: request.tenantId, provider: request.provider });
  const provider = runtime.catalog.resolve(request.provider);
  const connectionConfig = parseConnectionConfig(provider, request.connectionConfig);
  const grant = await connectWithApiKey(runtime.oauth(), provider, { apiKey: request.apiKey, connectionConfig });
  const stored = await storeConnectedGrant(runtime, {
    tenantId: request.tenantId,
    userId: request.userId,
    provider: provider.id,
    kind: 'api_key',
    grant,
    connectionConfig,
    actor: { type: 'service_account', id: callerEmail },
  });
  return { connectionId: stored.connectionId, provider: provider.id, accountId: grant.providerAccountId, displayName: grant.displayName ?? null, status: 'active', created: stored.created };
}
