// Per-connection provider config (Salesforce login host, Microsoft tenant, FHIR base URL): validated by the provider's schema.
import type { z } from 'zod';
import { BrokerError } from '../errors/broker-error.js';
import type { ProviderDefinition } from './definition-schema.js';
import { requireConfigInsideBoundary } from './endpoint-boundary.js';

export type ConnectionConfig = Readonly<Record<string, string>>;

function parseWith(provider: ProviderDefinition, schema: z.ZodObject, raw: unknown, kind: string): ConnectionConfig {
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(config)'))];
    throw new BrokerError('invalid_connection_config', `The ${provider.displayName} ${kind} config is invalid`, {
      details: { provider: provider.id, fields },
    });
  }
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed.data)) {
    if (typeof value === 'string') values[key] = value;
  }
  // A well-formed value may still lead elsewhere (a FHIR server nobody registered): refused here, before any request.
  requireConfigInsideBoundary(provider.endpointBoundary, values);
  return Object.freeze(values);
}

/** Parses caller-supplied config and keeps it inside the provider's endpoint boundary; errors name fields, never values. */
export function parseConnectionConfig(provider: ProviderDefinition, raw: unknown): ConnectionConfig {
  return parseWith(provider, provider.connectionConfigSchema, raw, 'connection');
}

/**
 * Parses the config of an app-only (client credentials) connection, which may be stricter than a user
 * connection's: Microsoft needs one specific tenant, Salesforce a My Domain host.
 */
export function parseAppOnlyConnectionConfig(provider: ProviderDefinition, raw: unknown): ConnectionConfig {
  if (provider.clientCredentials === undefined) {
    throw new BrokerError('invalid_request', `${provider.displayName} offers no app-only (client credentials) tokens`, {
      details: { provider: provider.id },
    });
  }
  return parseWith(provider, provider.clientCredentials.connectionConfigSchema ?? provider.connectionConfigSchema, raw, 'app-only connection');
}
