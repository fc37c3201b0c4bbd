// Token endpoint calls in two steps: build-and-send (raw reply) and process (validated, normalized TokenSet). The
// standard parts run on oauth4webapi; what stays here is each provider's quirks (JSON bodies, form replies, errors on
// HTTP 200, nested replies) and the broker's failure taxonomy.
import * as oauth from 'oauth4webapi';
import { z } from 'zod';
import type { ConnectionConfig } from '../providers/connection-config.js';
import {
  type AccountFacts,
  type ClientAuthenticationMethod,
  type ProviderDefinition,
  type TokenGrant,
  type TokenHookContext,
  tokenReplyReadingSchema,
} from '../providers/definition-schema.js';
import { authenticateClient, encodeBody } from './client-authentication.js';
import { decodeJwtPayload, validateIdToken } from './id-token.js';
import type { OAuthRuntime } from './oauth-runtime.js';
import {
  type FailureContext,
  malformedFailure,
  safeProviderErrorCode,
  statedFailure,
  unavailableFailure,
} from './provider-failure.js';
import { type ProviderReply, sendProviderRequest } from './provider-http.js';
import type { ResolvedEndpoints } from './resolved-endpoints.js';
import { splitGrantedScopes } from './scopes.js';
import { authorizationServer, standardCall, standardClient, standardClientAuthentication } from './standard-steps.js';
import type { ClientCredentials, TokenSet } from './token-set.js';

export type { TokenGrant };

export interface TokenEndpointRequestInput {
  readonly client: ClientCredentials;
  readonly endpoints: ResolvedEndpoints;
  readonly grant: TokenGrant;
  /** Grant parameters (code, redirect_uri, code_verifier, refresh_token, scope...). */
  readonly params: Readonly<Record<string, string>>;
  /** When this grant authenticates differently from the provider's default (client credentials sections). */
  readonly clientAuthentication?: ClientAuthenticationMethod;
  /** How long to wait for the reply; the client's provider timeout by default. */
  readonly timeoutMs?: number;
}

/** Sends the token request exactly as the provider wants it and returns the unprocessed reply. */
export function tokenEndpointRequest(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  input: TokenEndpointRequestInput,
): Promise<ProviderReply> {
  const standard = provider.tokenRequest.bodyFormat === 'form' && provider.tokenRequest.responseFormat === 'json';
  return standard ? standardTokenRequest(runtime, provider, input) : quirkyTokenRequest(runtime, provider, input);
}

/** RFC 6749 §4.1.3, §6, §4.4 through oauth4webapi: form body, client authentication, `accept: application/json`. */
async function standardTokenRequest(runtime: OAuthRuntime, provider: ProviderDefinition, input: TokenEndpointRequestInput): Promise<ProviderReply> {
  const call = standardCall({
    http: runtime.http,
    boundary: provider.endpointBoundary,
    url: input.endpoints.token,
    headers: provider.tokenRequest.extraHeaders,
    ...(input.timeoutMs === undefined ? {} : { timeoutMs: input.timeoutMs }),
  });
  await oauth.genericTokenEndpointRequest(
    authorizationServer({ token: input.endpoints.token }),
    standardClient(input.client, runtime.clock),
    standardClientAuthentication(input.clientAuthentication ?? provider.clientAuthentication, input.client),
    input.grant,
    { ...provider.tokenRequest.extraParams, ...input.params },
    call.options,
  );
  return call.reply();
}

/** JSON bodies (Notion, Atlassian) and form replies (GitHub): built here, since oauth4webapi sends only form and asks for JSON. */
function quirkyTokenRequest(runtime: OAuthRuntime, provider: ProviderDefinition, input: TokenEndpointRequestInput): Promise<ProviderReply> {
  const auth = authenticateClient(input.clientAuthentication ?? provider.clientAuthentication, input.client);
  const { body, contentType } = encodeBody(provider.tokenRequest.bodyFormat, {
    ...provider.tokenRequest.extraParams,
    grant_type: input.grant,
    ...input.params,
    ...auth.fields,
  });
  return sendProviderRequest(runtime.http, provider.endpointBoundary, {
    method: 'POST',
    url: input.endpoints.token,
    headers: {
      'content-type': contentType,
      accept: provider.tokenRequest.responseFormat === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
      ...provider.tokenRequest.extraHeaders,
      ...auth.headers,
    },
    body,
    ...(input.timeoutMs === undefined ? {} : { timeoutMs: input.timeoutMs }),
  });
}

// Providers send numbers as strings now and then; a non-numeric expires_in is still malformed.
const standardTokenFieldsSchema = z
  .object({
    access_token: z.string().min(1),
    token_type: z.string().min(1),
    expires_in: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).pipe(z.number().int().min(0)).optional(),
    refresh_token: z.string().min(1).optional(),
    scope: z.string().optional(),
    id_token: z.string().min(1).optional(),
  })
  .loose();

export interface TokenProcessingInput {
  readonly grant: TokenGrant;
  readonly client: ClientCredentials;
  readonly endpoints: ResolvedEndpoints;
  readonly connectionConfig: ConnectionConfig;
  /** What was asked for: the granted set when the provider does not say (RFC 6749 §5.1). */
  readonly requestedScopes: readonly string[];
  /** For refresh: kept when the reply carries no new refresh token. */
  readonly previousRefreshToken?: string;
  readonly nonce?: string;
}

export interface ProcessedTokenReply {
  readonly tokens: TokenSet;
  /** The account the reply names, when the provider's reply reader finds one (Slack team, Notion bot...). */
  readonly account?: AccountFacts;
}

export function parseReplyBody(reply: ProviderReply, format: 'json' | 'form'): unknown {
  if (format === 'form' && !reply.body.trimStart().startsWith('{')) {
    return Object.fromEntries(new URLSearchParams(reply.body));
  }
  try {
    return JSON.parse(reply.body) as unknown;
  } catch {
    return undefined;
  }
}

function failureContext(provider: ProviderDefinition, grant: TokenGrant): FailureContext {
  return {
    operation: grant === 'refresh_token' ? 'refresh' : grant === 'client_credentials' ? 'client_credentials' : 'token',
    provider: provider.id,
    deadGrantErrors: provider.refresh.supported ? provider.refresh.deadGrantErrors : [],
  };
}

/** Validates a token reply field by field; a dead grant, an outage and a malformed body each get their code. */
export async function processTokenEndpointReply(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  reply: ProviderReply,
  input: TokenProcessingInput,
): Promise<ProcessedTokenReply> {
  const failure = failureContext(provider, input.grant);
  if (reply.status === 429 || reply.status >= 500) throw unavailableFailure(reply.status, reply.headers, runtime.clock, failure);
  const body = parseReplyBody(reply, provider.tokenRequest.responseFormat);
  const bodyObject = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : undefined;
  const ok = reply.status >= 200 && reply.status < 300;
  const statedError = ok ? provider.errorInSuccessBody?.(body) : bodyObject?.error;
  if (!ok || statedError !== undefined) {
    throw statedFailure(reply.status, safeProviderErrorCode(statedError), failure);
  }
  if (bodyObject === undefined) throw malformedFailure(failure);
  const reading = readTokenReply(provider, body, { connectionConfig: input.connectionConfig, grant: input.grant }, failure);
  const fields = standardTokenFieldsSchema.safeParse(reading.fields ?? body);
  if (!fields.success) throw malformedFailure(failure);
  const token = fields.data;

  const nowMs = runtime.clock.nowMs();
  const expiry = expiryOf(provider, token.expires_in, nowMs);
  let idTokenClaims: Record<string, unknown> | undefined;
  if (token.id_token !== undefined && provider.idToken === 'expected') {
    const claims = decodeJwtPayload(token.id_token);
    if (claims === undefined) throw malformedFailure(failure);
    const issuer = provider.issuer?.idTokenIssuer?.(claims, input.connectionConfig) ?? input.endpoints.issuer;
    if (issuer === undefined) throw new TypeError(`provider ${provider.id} expects an id_token but has no issuer`);
    idTokenClaims = await validateIdToken(
      { access_token: token.access_token, token_type: token.token_type, id_token: token.id_token },
      {
        issuer,
        ...(input.endpoints.idTokenAlgorithms === undefined ? {} : { algorithms: input.endpoints.idTokenAlgorithms }),
        client: input.client,
        provider: provider.id,
        clock: runtime.clock,
        // A refreshed id_token need not repeat the nonce (OIDC Core §12.2).
        ...(input.grant === 'authorization_code' && input.nonce !== undefined ? { nonce: input.nonce } : {}),
      },
    );
  }
  const refreshToken = token.refresh_token ?? input.previousRefreshToken;
  const tokens: TokenSet = {
    accessToken: token.access_token,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...expiry,
    scopes: token.scope !== undefined ? splitGrantedScopes(provider, token.scope) : [...input.requestedScopes],
    tokenType: token.token_type,
    ...(idTokenClaims === undefined ? {} : { idTokenClaims }),
    metadata: checkedMetadata(provider, reading.metadata),
  };
  return { tokens, ...(reading.account === undefined ? {} : { account: reading.account }) };
}

/**
 * Runs the provider's reply reader, if any. Readers parse with zod, so a reply of the wrong shape surfaces as a
 * malformed response; a TypeError is a bug in the hook and stays one.
 */
function readTokenReply(provider: ProviderDefinition, body: unknown, context: TokenHookContext, failure: FailureContext) {
  const reader = provider.tokenRequest.readReply;
  if (reader === undefined) return tokenReplyReadingSchema.parse({});
  let reading: unknown;
  try {
    reading = reader(body, context);
  } catch (error) {
    if (error instanceof TypeError) throw error;
    throw malformedFailure(failure, error);
  }
  const checked = tokenReplyReadingSchema.safeParse(reading);
  if (!checked.success) throw malformedFailure(failure, checked.error);
  return checked.data;
}

type Expiry = Pick<TokenSet, 'expiresAtMs' | 'expirySource' | 'healthCheckEverySeconds'>;

function expiryOf(provider: ProviderDefinition, expiresIn: number | undefined, nowMs: number): Expiry {
  if (expiresIn !== undefined) return { expiresAtMs: nowMs + expiresIn * 1000, expirySource: 'provider' };
  const policy = provider.whenNoExpiresIn;
  if (policy.kind === 'assume-lifetime') return { expiresAtMs: nowMs + policy.seconds * 1000, expirySource: 'assumed' };
  if (policy.kind === 'refresh-every') return { expiresAtMs: nowMs + policy.seconds * 1000, expirySource: 'refresh-every' };
  return { expirySource: 'never', healthCheckEverySeconds: policy.healthCheckEverySeconds };
}

/** Only declared keys with string values survive, so a hook cannot leak a token into stored metadata by accident. */
export function checkedMetadata(provider: ProviderDefinition, metadata: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (!provider.metadataKeys.includes(key)) {
      throw new TypeError(`provider ${provider.id} produced undeclared metadata key ${key}`);
    }
    if (typeof value === 'string' && value !== '') result[key] = value;
  }
  return result;
}
