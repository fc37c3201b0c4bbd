// Who the token belongs to: the provider's identity call(s), also the cheapest proof a grant still works.
import { z } from 'zod';
import type { ConnectionConfig } from '../providers/connection-config.js';
import { identityFactsSchema, type ProviderDefinition } from '../providers/definition-schema.js';
import type { OAuthRuntime } from './oauth-runtime.js';
import { materializeRequest } from './provider-request.js';
import { type FailureContext, malformedFailure, safeProviderErrorCode, statedFailure, unavailableFailure } from './provider-failure.js';
import { type OutboundRequest, type ProviderReply, sendProviderRequest } from './provider-http.js';
import { resolveEndpoints } from './resolved-endpoints.js';
import { checkedMetadata } from './token-endpoint.js';
import type { ClientCredentials } from './token-set.js';

export interface IdentityInput {
  readonly accessToken: string;
  readonly connectionConfig: ConnectionConfig;
  /** Metadata already known (e.g. Salesforce instance_url), for hooks that need it. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly client?: ClientCredentials;
}

export interface Identity {
  readonly accountId: string;
  readonly displayName?: string;
  readonly metadata: Readonly<Record<string, string>>;
}

const userinfoSchema = z.object({ sub: z.string().min(1), name: z.string().optional(), email: z.string().optional() }).loose();

/** Checks one identity reply; returns its parsed body. */
export function processIdentityReply(
  runtime: OAuthRuntime,
  provider: ProviderDefinition,
  reply: ProviderReply,
): unknown {
  const failure: FailureContext = {
    operation: 'identity',
    provider: provider.id,
    deadGrantErrors: provider.refresh.supported ? provider.refresh.deadGrantErrors : identityDeadErrors,
  };
  if (reply.status === 429 || reply.status >= 500) throw unavailableFailure(reply.status, reply.headers, runtime.clock, failure);
  let body: unknown;
  try {
    body = JSON.parse(reply.body);
  } catch {
    if (reply.status >= 200 && reply.status < 300) throw malformedFailure(failure);
  }
  const ok = reply.status >= 200 && reply.status < 300;
  const stated = ok
    ? provider.errorInSuccessBody?.(body)
    : (body as { error?: unknown } | undefined)?.error;
  if (!ok || stated !== undefined) throw statedFailure(reply.status, safeProviderErrorCode(stated), failure);
  return body;
}

// Providers without refresh still have dead tokens; these are the common ways they say so.
const identityDeadErrors = ['invalid_token', 'invalid_auth', 'token_revoked', 'account_inactive'];

export async function fetchIdentity(runtime: OAuthRuntime, provider: ProviderDefinition, input: IdentityInput): Promise<Identity> {
  const values = { connectionConfig: input.connectionConfig, token: input.accessToken, ...(input.client ? { client: input.client } : {}) };
  if (provider.identity.kind === 'oidc-userinfo') {
    const endpoints = await resolveEndpoints(runtime, provider, input.connectionConfig);
    if (endpoints.userinfo === undefined) throw malformedFailure({ operation: 'discovery', provider: provider.id, deadGrantErrors: [] });
    const request: OutboundRequest = {
      method: 'GET',
      url: endpoints.userinfo,
      headers: { accept: 'application/json', authorization: `Bearer ${input.accessToken}` },
    };
    const body = processIdentityReply(runtime, provider, await sendProviderRequest(runtime.http, provider.endpointBoundary, request));
    const parsed = userinfoSchema.safeParse(body);
    if (!parsed.success) throw malformedFailure({ operation: 'identity', provider: provider.id, deadGrantErrors: [] });
    const displayName = parsed.data.email ?? parsed.data.name;
    return { accountId: parsed.data.sub, ...(displayName ? { displayName } : {}), metadata: {} };
  }
  const bodies: Record<string, unknown> = {};
  for (const { name, request } of provider.identity.requests) {
    const boundary = provider.endpointBoundary;
    const reply = await sendProviderRequest(runtime.http, boundary, materializeRequest(boundary, request, values));
    bodies[name] = processIdentityReply(runtime, provider, reply);
  }
  let facts: z.output<typeof identityFactsSchema>;
  try {
    facts = identityFactsSchema.parse(provider.identity.parse(bodies, { metadata: input.metadata }));
  } catch {
    // Hooks parse with zod; whatever they throw, the reply did not have the documented shape.
    throw malformedFailure({ operation: 'identity', provider: provider.id, deadGrantErrors: [] });
  }
  return {
    accountId: facts.accountId,
    ...(facts.displayName ? { displayName: facts.displayName } : {}),
    metadata: checkedMetadata(provider, facts.metadata ?? {}),
  };
}
