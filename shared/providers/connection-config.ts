// Per-connection provider config (Salesforce login host, Microsoft tenant, FHIR base URL): validated by the provider's schema.
import { BrokerError } from '../errors/broker-error.js';
import type { ProviderDefinition } from './definition-schema.js';

export type ConnectionConfig = Readonly<Record<string, string>>;

/** Parses caller-supplied config; the error names the bad fields, never their values. */
export function parseConnectionConfig(provider: ProviderDefinition, raw: unknown): ConnectionConfig {
  const parsed = provider.connectionConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(config)'))];
    throw new BrokerError('invalid_connection_config', `The ${provider.displayName} connection config is invalid`, {
      details: { provider: provider.id, fields },
    });
  }
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed.data)) {
    if (typeof value === 'string') values[key] = value;
  }
  return Object.freeze(values);
}
