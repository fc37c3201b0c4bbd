// Revoking a grant at the provider: RFC 7009 (on oauth4webapi), the provider's own call, or a recorded reason why it
// cannot be done. Replies are judged here, not by oauth4webapi, which takes only HTTP 200: providers answer 204, or
// say "already gone" in their own ways, and a disconnect must tell that from a failure.
import * as oauth from 'oauth4webapi';
import type { ConnectionConfig } from '../providers/connection-config.js';
import type { ProviderDefinition } from '../providers/definition-schema.js';
import { authenticateClient, encodeBody } from './client-authentication.js';
import type { OAuthRuntime } from './oauth-runtime.js';
import { parseReplyBody } from './token-endpoint.js';
import { materializeRequest } from './provider-request.js';
import { type FailureContext, safeProviderErrorCode, statedFailure, unavailableFailure } from './provider-failure.js';
import { type OutboundRequest, type ProviderReply, sendProviderRequest } from './provider-http.js';
import { resolveEndpoints } from './resolved-endpoints.js';
import { authorizationServer, standardCall, standardClient, standardClientAuthentication } from './standard-steps.js';
import type { ClientCredentials } from './token-set.js';

export interface RevocationInput {
  readonly client: ClientCredentials;
  readonly accessToken: string;
  readonly refreshToken?: string;
  readonly connectionConfig: ConnectionConfig;
}

export type RevocationOutcome =
  | { readonly outcome: 'revoked' }
  /** The provider had already forgotten the token: a disconnect can proceed. */
  | { readonly outcome: 'already_revoked' }
  /** The provider offers no revocation; the reason is the definition's. */
  | { readonly outcome: 'not_supported'; readonly reason: string };

function chooseToken(which: 'refresh_token_else_access_token' | 'access_token', input: RevocationInput) {
  return which === 'refresh_token_else_access_token' && input.refreshToken !== undefined
    ? { token: input.refreshToken, hint: 'refresh_token' }
    : { token: input.accessToken, hint: 'access_token' };
}

/** RFC 7009 §2.1 through oauth4webapi: form body with `token` and the optional hint, client authentication as declared. */
async function standardRevocation(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  revocation: Extract<ProviderDefinition['revocation'], { kind: 'rfc7009' }>,
  endpoints: { readonly token: string; readonly revocation: string },
  input: RevocationInput,
): Promise<ProviderReply> {
  const { token, hint } = chooseToken(revocation.token, input);
  const call = standardCall({ http: runtime.http, boundary: provider.endpointBoundary, url: endpoints.revocation, headers: revocation.extraHeaders });
  await oauth.revocationRequest(
    authorizationServer(endpoints),
    standardClient(input.client, runtime.clock),
    standardClientAuthentication(revocation.clientAuthentication, input.client),
    token,
    { ...call.options, ...(revocation.sendTokenTypeHint ? { additionalParameters: { token_type_hint: hint } } : {}) },
  );
  return call.reply();
}

/** A JSON revocation body (data-defined providers that ask for one): built here, since oauth4webapi sends only form. */
function jsonRevocationRequest(
  revocation: Extract<ProviderDefinition['revocation'], { kind: 'rfc7009' }>,
  url: string,
  input: RevocationInput,
): OutboundRequest {
  const { token, hint } = chooseToken(revocation.token, input);
  const auth = authenticateClient(revocation.clientAuthentication, input.client);
  const fields = { token, ...(revocation.sendTokenTypeHint ? { token_type_hint: hint } : {}), ...auth.fields };
  const { body, contentType } = encodeBody('json', fields);
  return { method: 'POST', url, headers: { 'content-type': contentType, accept: 'application/json', ...revocation.extraHeaders, ...auth.headers }, body };
}

export function processRevocationReply(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  reply: ProviderReply,
): RevocationOutcome {
  const failure: FailureContext = { operation: 'revocation', provider: provider.id, deadGrantErrors: [] };
  if (reply.status === 429 || reply.status >= 500) throw unavailableFailure(reply.status, reply.headers, runtime.clock, failure);
  const gone = provider.refresh.supported ? provider.refresh.deadGrantErrors : [];
  const body = parseReplyBody(reply, 'json');
  if (reply.status >= 200 && reply.status < 300) {
    const stated = safeProviderErrorCode(provider.errorInSuccessBody?.(body));
    if (stated === undefined) return { outcome: 'revoked' };
    if (gone.includes(stated) || ['invalid_auth', 'token_revoked', 'invalid_token'].includes(stated)) {
      return { outcome: 'already_revoked' };
    }
    throw statedFailure(reply.status, stated, failure);
  }
  if (provider.revocation.kind === 'provider-call' && provider.revocation.alreadyRevokedStatuses.includes(reply.status)) {
    return { outcome: 'already_revoked' };
  }
  const stated = safeProviderErrorCode((body as { error?: unknown } | undefined)?.error);
  // RFC 7009 §2.2: an invalid token is answered with 200; some providers say invalid_token/invalid_grant instead.
  if (stated !== undefined && (stated === 'invalid_token' || gone.includes(stated))) return { outcome: 'already_revoked' };
  throw statedFailure(reply.status, stated, failure);
}

export async function revokeGrant(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  input: RevocationInput,
): Promise<RevocationOutcome> {
  const revocation = provider.revocation;
  if (revocation.kind === 'none') return { outcome: 'not_supported', reason: revocation.reason };
  const boundary = provider.endpointBoundary;
  if (revocation.kind === 'provider-call') {
    const { token } = chooseToken(revocation.token, input);
    const request = materializeRequest(boundary, revocation.request, { connectionConfig: input.connectionConfig, client: input.client, token });
    return processRevocationReply(runtime, provider, await sendProviderRequest(runtime.http, boundary, request));
  }
  const endpoints = await resolveEndpoints(runtime, provider, input.connectionConfig);
  const url = endpoints.revocation;
  if (url === undefined) return { outcome: 'not_supported', reason: 'the provider\'s metadata names no revocation endpoint' };
  const reply =
    revocation.bodyFormat === 'form'
      ? await standardRevocation(runtime, provider, revocation, { token: endpoints.token, revocation: url }, input)
      : await sendProviderRequest(runtime.http, boundary, jsonRevocationRequest(revocation, url, input));
  return processRevocationReply(runtime, provider, reply);
}
