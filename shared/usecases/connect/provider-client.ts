// The broker's registered OAuth client at a provider, from config; a missing one is the operator's to fix.
import { BrokerError } from '../../errors/broker-error.js';
import type { ClientCredentials } from '../../oauth/token-set.js';
import type { ProviderDefinition } from '../../providers/definition-schema.js';
import type { BrokerRuntime } from '../broker-runtime.js';

export function providerClient(runtime: BrokerRuntime, provider: ProviderDefinition): ClientCredentials {
  const client = runtime.config.providerClients[provider.id];
  if (client === undefined) {
    throw new BrokerError('misconfigured', `No OAuth client is configured for ${provider.displayName}`, {
      details: { provider: provider.id, variables: [`PROVIDER_${provider.id.toUpperCase()}_CLIENT_ID`] },
    });
  }
  return client;
}
