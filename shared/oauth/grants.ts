// The grant operations the connect, refresh and disconnect flows call: code exchange, refresh, client credentials.
import { BrokerError } from '../errors/broker-error.js';
import { type ConnectionConfig, parseAppOnlyConnectionConfig } from '../providers/connection-config.js';
import type { AccountFacts, ProviderDefinition } from '../providers/definition-schema.js';
import { fetchIdentity } from './identity.js';
import type { OAuthRuntime } from './oauth-runtime.js';
import { resolveEndpoints } from './resolved-endpoints.js';
import { asksForOfflineAccess, requestedScopes } from './scopes.js';
import { expandEndpoint } from '../providers/endpoint-boundary.js';
import { expandTemplate } from '../providers/url-template.js';
import { malformedFailure } from './provider-failure.js';
import { checkedMetadata, processTokenEndpointReply, tokenEndpointRequest } from './token-endpoint.js';
import type { ClientCredentials, ConnectedGrant, TokenSet } from './token-set.js';

export interface ExchangeCodeInput {
  readonly client: ClientCredentials;
  readonly code: string;
  readonly redirectUri: string;
  /** From buildAuthorizationRequest, for providers with PKCE. */
  readonly codeVerifier?: string;
  readonly nonce?: string;
  /** From buildAuthorizationRequest (defaults included). */
  readonly requestedScopes: readonly string[];
  readonly connectionConfig: ConnectionConfig;
}

function requireOAuth2(provider: ProviderDefinition): void {
  if (provider.protocol !== 'oauth2') throw new TypeError(`${provider.id} uses OAuth 1.0a: use the oauth1 flow`);
}

/** Exchanges the code and names the provider account: from the reply, the id_token, or the identity call. */
export async function exchangeCode(runtime: OAuthRuntime, provider: ProviderDefinition, input: ExchangeCodeInput): Promise<ConnectedGrant> {
  requireOAuth2(provider);
  if (provider.pkce.method === 'S256' && input.codeVerifier === undefined) {
    throw new TypeError(`${provider.id} uses PKCE: pass the codeVerifier from buildAuthorizationRequest`);
  }
  const endpoints = await resolveEndpoints(runtime, provider, input.connectionConfig);
  const reply = await tokenEndpointRequest(runtime, provider, {
    client: input.client,
    endpoints,
    grant: 'authorization_code',
    params: {
      code: input.code,
      redirect_uri: input.redirectUri,
      ...(input.codeVerifier === undefined ? {} : { code_verifier: input.codeVerifier }),
    },
  });
  const { tokens, account: named } = await processTokenEndpointReply(runtime, provider, reply, {
    grant: 'authorization_code',
    client: input.client,
    endpoints,
    connectionConfig: input.connectionConfig,
    requestedScopes: input.requestedScopes,
    ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
  });
  let account: AccountFacts | undefined = named;
  let metadata = tokens.metadata;
  // Declared identity calls name the account (and fill metadata only they know: Atlassian cloud id, HubSpot hub),
  // so connect and later health checks agree on the id; otherwise the id_token, otherwise userinfo.
  if (provider.identity.kind === 'requests' || (account === undefined && tokens.idTokenClaims === undefined)) {
    const identity = await fetchIdentity(runtime, provider, {
      accessToken: tokens.accessToken,
      connectionConfig: input.connectionConfig,
      metadata,
      client: input.client,
    });
    account ??= identity;
    metadata = { ...metadata, ...identity.metadata };
  } else if (account === undefined && tokens.idTokenClaims !== undefined) {
    const claims = tokens.idTokenClaims;
    const displayName = [claims.email, claims.name, claims.preferred_username].find((v): v is string => typeof v === 'string');
    account = { accountId: String(claims.sub), ...(displayName ? { displayName } : {}) };
    // Many providers keep name and email out of the id_token and serve them from userinfo only.
    if (displayName === undefined && provider.identity.kind === 'oidc-userinfo') {
      account = await userinfoDisplayName(runtime, provider, { accessToken: tokens.accessToken, connectionConfig: input.connectionConfig, metadata }, account);
    }
  }
  if (account === undefined) throw new TypeError('unreachable: an account is always resolved');
  return {
    ...tokens,
    metadata,
    providerAccountId: account.accountId,
    ...(account.displayName === undefined ? {} : { displayName: account.displayName }),
    ...(asksForOfflineAccess(provider, input.requestedScopes) ? { offlineAccess: tokens.refreshToken === undefined ? 'missing' : 'granted' } : {}),
  };
}

/**
 * The id_token's account with the display name userinfo gives, when userinfo speaks of the same subject; a name is a
 * nicety, so a userinfo failure or another subject leaves the account as the id_token named it.
 */
async function userinfoDisplayName(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  input: Parameters<typeof fetchIdentity>[2],
  account: AccountFacts,
): Promise<AccountFacts> {
  try {
    const identity = await fetchIdentity(runtime, provider, input);
    if (identity.accountId !== account.accountId || identity.displayName === undefined) return account;
    return { ...account, displayName: identity.displayName };
  } catch {
    return account;
  }
}

export interface RefreshGrantInput {
  readonly client: ClientCredentials;
  readonly refreshToken: string;
  /** The connection's granted scopes: kept when the reply does not restate them, and sent when the provider wants them. */
  readonly scopes: readonly string[];
  readonly connectionConfig: ConnectionConfig;
  /** How long to wait for the reply; the client's provider timeout by default. */
  readonly timeoutMs?: number;
}

/**
 * Refreshes; the result carries the refresh token to store from now on (the new one if the provider rotated,
 * else the one sent). Persist it before anything else: a rotating provider has already invalidated the old one.
 */
export async function refreshGrant(runtime: OAuthRuntime, provider: ProviderDefinition, input: RefreshGrantInput): Promise<TokenSet> {
  requireOAuth2(provider);
  if (!provider.refresh.supported) {
    throw new BrokerError('provider_error', `${provider.displayName} tokens cannot be refreshed`, {
      details: { provider: provider.id, operation: 'refresh', reason: 'refresh_not_supported' },
    });
  }
  const endpoints = await resolveEndpoints(runtime, provider, input.connectionConfig);
  const sendScope = provider.refresh.sendScope && provider.scopes.separator !== null && input.scopes.length > 0;
  const reply = await tokenEndpointRequest(runtime, provider, {
    client: input.client,
    endpoints,
    grant: 'refresh_token',
    ...(input.timeoutMs === undefined ? {} : { timeoutMs: input.timeoutMs }),
    params: {
      refresh_token: input.refreshToken,
      ...(sendScope ? { scope: input.scopes.join(provider.scopes.separator ?? ' ') } : {}),
    },
  });
  const { tokens } = await processTokenEndpointReply(runtime, provider, reply, {
    grant: 'refresh_token',
    client: input.client,
    endpoints,
    connectionConfig: input.connectionConfig,
    requestedScopes: input.scopes,
    previousRefreshToken: input.refreshToken,
  });
  return tokens;
}

export interface ClientCredentialsInput {
  readonly client: ClientCredentials;
  /** App-only scopes beyond the section's defaults (Microsoft: another resource's `/.default`). */
  readonly scopes: readonly string[];
  /** Checked again here against the app-only schema, so a user-connection config cannot slip through. */
  readonly connectionConfig: ConnectionConfig;
}

/**
 * App-only tokens (RFC 6749 §4.4) for tenant-level connections. There is no refresh token: when the token
 * nears expiry the grant is simply run again. The account is the tenant or org the token acts for.
 */
export async function clientCredentialsGrant(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  input: ClientCredentialsInput,
): Promise<ConnectedGrant> {
  requireOAuth2(provider);
  const connectionConfig = parseAppOnlyConnectionConfig(provider, input.connectionConfig);
  const section = provider.clientCredentials;
  if (section === undefined) throw new TypeError('unreachable: parseAppOnlyConnectionConfig checked the section');
  if (section.scopes === undefined && input.scopes.length > 0) {
    throw new BrokerError('invalid_scope', `${provider.displayName} app-only tokens take their permissions from the app registration, not from scopes`, {
      details: { provider: provider.id, scopes: input.scopes.slice(0, 20) },
    });
  }
  const scopes = section.scopes === undefined ? [] : requestedScopes(provider, input.scopes, section.scopes);
  const resolved = await resolveEndpoints(runtime, provider, connectionConfig);
  const endpoints =
    section.tokenUrl === undefined ? resolved : { ...resolved, token: expandEndpoint(provider.endpointBoundary, section.tokenUrl, connectionConfig) };
  const params: Record<string, string> = {};
  for (const [name, template] of Object.entries(section.params)) params[name] = expandTemplate(template, connectionConfig);
  if (scopes.length > 0) params.scope = scopes.join(provider.scopes.separator ?? ' ');
  const reply = await tokenEndpointRequest(runtime, provider, {
    client: input.client,
    endpoints,
    grant: 'client_credentials',
    params,
    clientAuthentication: section.clientAuthentication,
  });
  const { tokens, account: named } = await processTokenEndpointReply(runtime, provider, reply, {
    grant: 'client_credentials',
    client: input.client,
    endpoints,
    connectionConfig,
    requestedScopes: scopes,
  });
  const declared: Record<string, string> = {};
  for (const [key, template] of Object.entries(section.metadata)) declared[key] = expandTemplate(template, connectionConfig);
  const account = section.account.kind === 'connection-config' ? { accountId: expandTemplate(section.account.template, connectionConfig) } : named;
  if (account === undefined) throw malformedFailure({ operation: 'client_credentials', provider: provider.id, deadGrantErrors: [] });
  return {
    ...tokens,
    metadata: { ...tokens.metadata, ...checkedMetadata(provider, declared) },
    providerAccountId: account.accountId,
    ...(account.displayName === undefined ? {} : { displayName: account.displayName }),
  };
}
