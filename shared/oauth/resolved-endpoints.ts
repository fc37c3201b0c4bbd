// A provider's concrete endpoints for one connection: templates filled, or read from its discovery document; either
// way inside the provider's endpoint boundary, so client credentials only ever go where they were registered.
import { BrokerError } from '../errors/broker-error.js';
import type { ConnectionConfig } from '../providers/connection-config.js';
import type { ProviderDefinition } from '../providers/definition-schema.js';
import { expandEndpoint, requireAllowedEndpoint } from '../providers/endpoint-boundary.js';
import { expandTemplate } from '../providers/url-template.js';
import { discoverServerMetadata } from './discovery.js';
import type { OAuthRuntime } from './oauth-runtime.js';

export interface ResolvedEndpoints {
  readonly authorization: string;
  readonly token: string;
  readonly revocation?: string;
  readonly userinfo?: string;
  /** The issuer an RFC 9207 `iss` and an id_token `iss` must equal. */
  readonly issuer?: string;
  /** Whether the authorization response always carries `iss` (RFC 9207 §2.4: then its absence is an error). */
  readonly issAlwaysSent: boolean;
  /** The id_token signing algorithms the server publishes; RS256 when it publishes none (OIDC Core's default). */
  readonly idTokenAlgorithms?: readonly string[];
}

export async function resolveEndpoints(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  config: ConnectionConfig,
): Promise<ResolvedEndpoints> {
  const boundary = provider.endpointBoundary;
  const endpoints = provider.endpoints;
  if (endpoints.discovery === undefined) {
    return {
      authorization: expandEndpoint(boundary, endpoints.authorization, config),
      token: expandEndpoint(boundary, endpoints.token, config),
      ...(provider.revocation.kind === 'rfc7009' && provider.revocation.url !== 'discovered'
        ? { revocation: expandEndpoint(boundary, provider.revocation.url, config) }
        : {}),
      ...(provider.issuer ? { issuer: expandTemplate(provider.issuer.expected, config) } : {}),
      issAlwaysSent: provider.issuer?.authorizationResponseIss === 'always',
    };
  }
  const issuer = expandEndpoint(boundary, endpoints.issuer, config);
  const metadata = await runtime.discovery.get(endpoints.discovery, issuer, () =>
    discoverServerMetadata(runtime, endpoints.discovery, issuer, boundary),
  );
  // A document may name endpoints anywhere; only those on the registration's origins are used, or the secret (and
  // the user's browser) would follow whoever wrote it.
  const discovered = [metadata.authorization_endpoint, metadata.token_endpoint, metadata.revocation_endpoint, metadata.userinfo_endpoint];
  for (const endpoint of discovered) if (endpoint !== undefined) requireAllowedEndpoint(boundary, endpoint);
  if (provider.pkce.method === 'S256' && provider.pkce.required && !metadata.code_challenge_methods_supported?.includes('S256')) {
    throw new BrokerError('provider_error', 'The server does not offer PKCE S256, which this provider requires', {
      details: { provider: provider.id, reason: 'pkce_s256_not_supported' },
    });
  }
  return {
    authorization: metadata.authorization_endpoint,
    token: metadata.token_endpoint,
    ...(metadata.revocation_endpoint ? { revocation: metadata.revocation_endpoint } : {}),
    ...(metadata.userinfo_endpoint ? { userinfo: metadata.userinfo_endpoint } : {}),
    issuer: metadata.issuer ?? issuer,
    issAlwaysSent: metadata.authorization_response_iss_parameter_supported === true,
    ...(metadata.id_token_signing_alg_values_supported ? { idTokenAlgorithms: metadata.id_token_signing_alg_values_supported } : {}),
  };
}
