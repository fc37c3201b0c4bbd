// Connections made from a key the user pastes (HubSpot private app tokens...): shape check, then an identity call.
import { BrokerError, isBrokerError } from '../errors/broker-error.js';
import type { ConnectionConfig } from '../providers/connection-config.js';
import type { ProviderDefinition } from '../providers/definition-schema.js';
import { fetchIdentity } from './identity.js';
import type { OAuthRuntime } from './oauth-runtime.js';
import type { ConnectedGrant } from './token-set.js';

export interface ApiKeyConnectionInput {
  readonly apiKey: string;
  readonly connectionConfig: ConnectionConfig;
}

/**
 * Proves the key works and names its account with the provider's identity call(s), the same ones health
 * checks make later. A key of the wrong shape is refused before any call; neither error echoes the key.
 */
export async function connectWithApiKey(runtime: OAuthRuntime, provider: ProviderDefinition, input: ApiKeyConnectionInput): Promise<ConnectedGrant> {
  const section = provider.apiKey;
  if (section === undefined) {
    throw new BrokerError('invalid_request', `${provider.displayName} connections cannot be made with an API key`, {
      details: { provider: provider.id },
    });
  }
  if (!new RegExp(`^(?:${section.format.source})$`, section.format.flags).test(input.apiKey)) {
    throw new BrokerError('invalid_request', `That is not a ${provider.displayName} ${section.label}`, {
      details: { provider: provider.id, reason: 'api_key_format' },
    });
  }
  let identity;
  try {
    identity = await fetchIdentity(runtime, provider, { accessToken: input.apiKey, connectionConfig: input.connectionConfig, metadata: {} });
  } catch (error) {
    // For a key being connected, "the grant is dead" means the key was never (or is no longer) valid.
    if (isBrokerError(error, 'needs_reauth')) {
      throw new BrokerError('invalid_request', `${provider.displayName} rejected the ${section.label}`, {
        cause: error,
        details: { provider: provider.id, reason: 'api_key_rejected' },
      });
    }
    throw error;
  }
  return {
    accessToken: input.apiKey,
    expirySource: 'never',
    healthCheckEverySeconds: section.healthCheckEverySeconds,
    // The key's permissions live on the provider's side; the identity call does not list them.
    scopes: [],
    tokenType: 'Bearer',
    metadata: { ...identity.metadata },
    providerAccountId: identity.accountId,
    ...(identity.displayName === undefined ? {} : { displayName: identity.displayName }),
  };
}
