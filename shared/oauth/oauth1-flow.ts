// The OAuth 1.0a three-legged flow (RFC 5849 §2): temporary credentials, user authorization, token credentials.
import { BrokerError } from '../errors/broker-error.js';
import type { ConnectionConfig } from '../providers/connection-config.js';
import type { ProviderDefinition } from '../providers/definition-schema.js';
import { expandEndpoint } from '../providers/endpoint-boundary.js';
import { expandTemplate } from '../providers/url-template.js';
import { fetchIdentity } from './identity.js';
import { oauth1AuthorizationHeader } from './oauth1-signature.js';
import type { OAuthRuntime } from './oauth-runtime.js';
import { type FailureContext, malformedFailure, statedFailure, unavailableFailure } from './provider-failure.js';
import { sendProviderRequest } from './provider-http.js';
import { resolveEndpoints } from './resolved-endpoints.js';
import { requestedScopes } from './scopes.js';
import type { ClientCredentials, ConnectedGrant } from './token-set.js';

function consumerSecret(client: ClientCredentials): string {
  if (!client.clientSecret) throw new TypeError('OAuth 1.0a needs the consumer secret');
  return client.clientSecret;
}

async function signedPost(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  url: string,
  client: ClientCredentials,
  extra: Record<string, string>,
  tokenSecret?: string,
): Promise<URLSearchParams> {
  const oauthParams = {
    oauth_consumer_key: client.clientId,
    oauth_nonce: runtime.ids.secretToken(16),
    oauth_signature_method: 'HMAC-SHA1',
    oauth_timestamp: String(Math.floor(runtime.clock.nowMs() / 1000)),
    oauth_version: '1.0',
    ...extra,
  };
  const authorization = oauth1AuthorizationHeader({
    method: 'POST',
    url,
    oauthParams,
    consumerSecret: consumerSecret(client),
    ...(tokenSecret === undefined ? {} : { tokenSecret }),
  });
  const reply = await sendProviderRequest(runtime.http, provider.endpointBoundary, { method: 'POST', url, headers: { authorization } });
  const failure: FailureContext = { operation: 'oauth1', provider: provider.id, deadGrantErrors: [] };
  if (reply.status === 429 || reply.status >= 500) throw unavailableFailure(reply.status, reply.headers, runtime.clock, failure);
  if (reply.status < 200 || reply.status >= 300) throw statedFailure(reply.status, undefined, failure);
  const params = new URLSearchParams(reply.body);
  if (!params.get('oauth_token') || !params.get('oauth_token_secret')) throw malformedFailure(failure);
  return params;
}

export interface OAuth1StartInput {
  readonly client: ClientCredentials;
  /** Where the provider sends the user back (oauth_callback). */
  readonly callbackUrl: string;
  readonly scopes: readonly string[];
  readonly connectionConfig: ConnectionConfig;
}

export interface OAuth1Start {
  readonly url: string;
  readonly requestToken: string;
  /** Secret: keep it sealed with the flow; it signs the access token request. */
  readonly requestTokenSecret: string;
  readonly scopes: readonly string[];
}

export async function startOAuth1Authorization(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  input: OAuth1StartInput,
): Promise<OAuth1Start> {
  if (provider.protocol !== 'oauth1a') throw new TypeError(`${provider.id} is not an OAuth 1.0a provider`);
  const endpoints = await resolveEndpoints(runtime, provider, input.connectionConfig);
  const requestTokenUrl = expandEndpoint(provider.endpointBoundary, provider.endpoints.requestToken, input.connectionConfig);
  const temporary = await signedPost(runtime, provider, requestTokenUrl, input.client, { oauth_callback: input.callbackUrl });
  if (temporary.get('oauth_callback_confirmed') !== 'true') {
    throw malformedFailure({ operation: 'oauth1', provider: provider.id, deadGrantErrors: [] });
  }
  const scopes = requestedScopes(provider, input.scopes);
  const url = new URL(endpoints.authorization);
  url.searchParams.set('oauth_token', temporary.get('oauth_token') as string);
  if (provider.scopes.separator !== null && scopes.length > 0) url.searchParams.set('scope', scopes.join(provider.scopes.separator));
  for (const [name, template] of Object.entries(provider.authorizationParams)) {
    url.searchParams.set(name, expandTemplate(template, input.connectionConfig));
  }
  return {
    url: url.href,
    requestToken: temporary.get('oauth_token') as string,
    requestTokenSecret: temporary.get('oauth_token_secret') as string,
    scopes,
  };
}

export interface OAuth1CompleteInput {
  readonly client: ClientCredentials;
  readonly requestToken: string;
  readonly requestTokenSecret: string;
  /** The callback's query parameters. */
  readonly params: URLSearchParams;
  readonly scopes: readonly string[];
  readonly connectionConfig: ConnectionConfig;
}

export async function completeOAuth1Authorization(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  input: OAuth1CompleteInput,
): Promise<ConnectedGrant> {
  if (provider.protocol !== 'oauth1a') throw new TypeError(`${provider.id} is not an OAuth 1.0a provider`);
  const token = input.params.get('oauth_token');
  const verifier = input.params.get('oauth_verifier');
  if (token !== input.requestToken) throw new BrokerError('invalid_request', 'The callback does not carry this flow\'s request token');
  if (!verifier) throw new BrokerError('access_denied', 'The user declined the authorization', { details: { provider: provider.id } });
  const endpoints = await resolveEndpoints(runtime, provider, input.connectionConfig);
  const credentials = await signedPost(
    runtime,
    provider,
    endpoints.token,
    input.client,
    { oauth_token: input.requestToken, oauth_verifier: verifier },
    input.requestTokenSecret,
  );
  const accessToken = credentials.get('oauth_token') as string;
  const identity = await fetchIdentity(runtime, provider, {
    accessToken,
    connectionConfig: input.connectionConfig,
    metadata: {},
    client: input.client,
  });
  const policy = provider.whenNoExpiresIn;
  const nowMs = runtime.clock.nowMs();
  return {
    accessToken,
    tokenSecret: credentials.get('oauth_token_secret') as string,
    ...(policy.kind === 'never-expires-until-revoked'
      ? { expirySource: 'never' as const, healthCheckEverySeconds: policy.healthCheckEverySeconds }
      : { expirySource: 'assumed' as const, expiresAtMs: nowMs + policy.seconds * 1000 }),
    scopes: [...input.scopes],
    tokenType: 'oauth1',
    metadata: identity.metadata,
    providerAccountId: identity.accountId,
    ...(identity.displayName === undefined ? {} : { displayName: identity.displayName }),
  };
}
