// Builds the URL the user's browser is sent to, with PKCE and (for OpenID providers) a nonce.
import type { ConnectionConfig } from '../providers/connection-config.js';
import type { ProviderDefinition } from '../providers/definition-schema.js';
import { expandTemplate } from '../providers/url-template.js';
import type { OAuthRuntime } from './oauth-runtime.js';
import { createPkcePair } from './pkce.js';
import { resolveEndpoints } from './resolved-endpoints.js';
import { asksForOfflineAccess, requestedScopes } from './scopes.js';

export interface AuthorizationRequestInput {
  readonly clientId: string;
  readonly redirectUri: string;
  /** Scopes beyond the provider's defaults. */
  readonly scopes: readonly string[];
  readonly state: string;
  readonly connectionConfig: ConnectionConfig;
}

export interface AuthorizationRequest {
  readonly url: string;
  /** Keep it sealed with the flow; needed for the code exchange. */
  readonly codeVerifier?: string;
  /** Keep it with the flow; the id_token must echo it. */
  readonly nonce?: string;
  /** Everything asked for, defaults included. */
  readonly scopes: readonly string[];
}

export async function buildAuthorizationRequest(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  input: AuthorizationRequestInput,
): Promise<AuthorizationRequest> {
  if (provider.protocol !== 'oauth2') throw new TypeError(`${provider.id} uses OAuth 1.0a: use startOAuth1Authorization`);
  if (input.state.length < 16) throw new TypeError('state must carry at least 16 characters of entropy');
  const scopes = requestedScopes(provider, input.scopes);
  const endpoints = await resolveEndpoints(runtime, provider, input.connectionConfig);
  const url = new URL(endpoints.authorization);
  const params = url.searchParams;
  params.set('response_type', 'code');
  params.set('client_id', input.clientId);
  params.set('redirect_uri', input.redirectUri);
  params.set('state', input.state);
  if (provider.scopes.separator !== null && scopes.length > 0) {
    const name = provider.scopes.parameter?.(input.connectionConfig) ?? 'scope';
    params.set(name, scopes.join(provider.scopes.separator));
  }
  for (const [name, template] of Object.entries(provider.authorizationParams)) {
    params.set(name, expandTemplate(template, input.connectionConfig));
  }
  if (provider.offlineAccess?.promptConsent === true && !params.has('prompt') && asksForOfflineAccess(provider, scopes)) {
    params.set('prompt', 'consent');
  }
  let codeVerifier: string | undefined;
  if (provider.pkce.method === 'S256') {
    const pkce = await createPkcePair(runtime.ids);
    codeVerifier = pkce.codeVerifier;
    params.set('code_challenge', pkce.codeChallenge);
    params.set('code_challenge_method', pkce.codeChallengeMethod);
  }
  let nonce: string | undefined;
  if (provider.idToken === 'expected') {
    nonce = runtime.ids.secretToken(24);
    params.set('nonce', nonce);
  }
  return {
    url: url.href,
    ...(codeVerifier === undefined ? {} : { codeVerifier }),
    ...(nonce === undefined ? {} : { nonce }),
    scopes,
  };
}
