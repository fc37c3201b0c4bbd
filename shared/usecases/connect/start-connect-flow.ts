// authorize: checks a product backend's connect request and records a single-use flow behind a start URL.
import { Timestamp } from '@google-cloud/firestore';
import { z } from 'zod';
import { BrokerError } from '../../errors/broker-error.js';
import { buildAuthorizationRequest } from '../../oauth/authorization-request.js';
import { requestedScopes } from '../../oauth/scopes.js';
import { parseConnectionConfig } from '../../providers/connection-config.js';
import type { ProviderDefinition } from '../../providers/definition-schema.js';
import { appendAudit } from '../../store/audit-log.js';
import { createAuthFlow, flowIdForState, sha256Hex } from '../../store/auth-flows.js';
import { ttlFields } from '../../store/collections.js';
import { listUserConnections } from '../../store/connection-reads.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { type FlowSecrets, sealFlowSecrets } from './flow-secrets.js';
import { providerClient } from './provider-client.js';
import { requireAllowedReturnUrl } from './return-url.js';

const identifier = z.string().min(1).max(256);

export const connectRequestSchema = z
  .object({
    tenantId: identifier,
    userId: identifier,
    provider: z.string().min(1).max(64),
    /** Scopes beyond the provider's defaults, each checked against what the provider offers. */
    scopes: z.array(z.string().min(1).max(512)).max(100).default([]),
    returnUrl: z.string().min(1).max(2048),
    /** Per-connection provider config (Salesforce login host, Microsoft tenant, SMART FHIR base URL). */
    connectionConfig: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type ConnectRequest = z.input<typeof connectRequestSchema>;

export interface ConnectStart {
  /** Open this in the user's browser, once, before `expiresAt`. */
  readonly connectUrl: string;
  readonly expiresAt: string;
  /**
   * `required`: the browser comes back with `outcome=pending_confirmation` and a `flow_id`, and nothing is stored until
   * the product confirms its signed-in user with the connections function (docs/connect-confirmation.md).
   */
  readonly userConfirmation: 'required' | 'not_required';
}

/** Whether this tenant's grants wait for the product to confirm its user (CONNECT_CONFIRMATION_TENANTS). */
export function requiresUserConfirmation(confirmationTenants: '*' | readonly string[], tenantId: string): boolean {
  return confirmationTenants === '*' || confirmationTenants.includes(tenantId);
}

/** Secret-strength randomness for the state and the start token (256 bits each). */
const SECRET_BYTES = 32;

export function parseConnectRequest(body: unknown): z.output<typeof connectRequestSchema> {
  const parsed = connectRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new BrokerError('invalid_request', 'The connect request is invalid', {
      details: { fields: [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(body)'))] },
    });
  }
  return parsed.data;
}

export function connectStartUrl(callbackUrl: string): URL {
  return new URL('start', callbackUrl.endsWith('/') ? callbackUrl : `${callbackUrl}/`);
}

export function requireCallbackUrl(runtime: BrokerRuntime): string {
  const { callbackUrl } = runtime.config.connect;
  if (callbackUrl === undefined) {
    throw new BrokerError('misconfigured', 'BROKER_CALLBACK_URL is not set: no connect flow can start', {
      details: { variables: ['BROKER_CALLBACK_URL'] },
    });
  }
  return callbackUrl;
}

/** The scopes of a scope list the provider offers (granted lists may hold more, e.g. Google's `openid`). */
function offeredScopes(provider: ProviderDefinition, scopes: readonly string[]): string[] {
  return scopes.filter((scope) => {
    try {
      requestedScopes(provider, [scope]);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Incremental authorization: a user who already has connections to this provider keeps their scopes and
 * gains the new ones, because the new grant asks for both (and Google's include_granted_scopes merges them).
 */
async function scopesToRequest(runtime: BrokerRuntime, provider: ProviderDefinition, request: z.output<typeof connectRequestSchema>) {
  requestedScopes(provider, request.scopes); // refuses scopes the provider does not offer, naming them
  const existing = await listUserConnections(runtime.firestore(), {
    tenantId: request.tenantId,
    userId: request.userId,
    provider: provider.id,
  });
  const kept = offeredScopes(provider, existing.flatMap((connection) => connection.document.scopes));
  return [...new Set([...request.scopes, ...kept])];
}

export async function startConnectFlow(
  runtime: BrokerRuntime,
  callerEmail: string,
  body: unknown,
): Promise<ConnectStart> {
  const request = parseConnectRequest(body);
  runtime.callerPolicy.authorize(callerEmail, { action: 'connect', tenantId: request.tenantId, provider: request.provider });
  const provider = runtime.catalog.resolve(request.provider);
  const connectionConfig = parseConnectionConfig(provider, request.connectionConfig);
  const returnUrl = requireAllowedReturnUrl(runtime.config.connect.returnUrlAllowlist, request.returnUrl);
  const callbackUrl = requireCallbackUrl(runtime);
  const client = providerClient(runtime, provider);
  const scopes = await scopesToRequest(runtime, provider, request);

  const state = runtime.ids.secretToken(SECRET_BYTES);
  const startToken = runtime.ids.secretToken(SECRET_BYTES);
  const flowId = flowIdForState(state);
  let secrets: FlowSecrets;
  let granted: readonly string[];
  if (provider.protocol === 'oauth1a') {
    // OAuth 1.0a has no state parameter: ours rides on the callback URL, which the provider echoes. The signed
    // request-token call needs the consumer secret, which this function does not hold: the start step makes it.
    const oauthCallback = new URL(callbackUrl);
    oauthCallback.searchParams.set('state', state);
    secrets = { oauth1CallbackUrl: oauthCallback.href };
    granted = requestedScopes(provider, scopes);
  } else {
    const built = await buildAuthorizationRequest(runtime.oauth(), provider, {
      clientId: client.clientId,
      redirectUri: callbackUrl,
      scopes,
      state,
      connectionConfig,
    });
    secrets = {
      authorizationUrl: built.url,
      ...(built.codeVerifier === undefined ? {} : { codeVerifier: built.codeVerifier }),
      ...(built.nonce === undefined ? {} : { nonce: built.nonce }),
    };
    granted = built.scopes;
  }

  const nowMs = runtime.clock.nowMs();
  const expiresAtMs = nowMs + runtime.config.connect.flowTtlMs;
  const confirmUser = requiresUserConfirmation(runtime.config.connect.confirmationTenants, request.tenantId);
  const sealed = await sealFlowSecrets(runtime.vault(), secrets, { flowId, tenantId: request.tenantId });
  await createAuthFlow(runtime.firestore(), flowId, {
    tenantId: request.tenantId,
    userId: request.userId,
    provider: provider.id,
    protocol: provider.protocol,
    scopes: [...granted],
    connectionConfig: { ...connectionConfig },
    returnUrl,
    callerEmail,
    confirmUser,
    startTokenHash: sha256Hex(startToken),
    browserBindingHash: null,
    startedAtMs: null,
    consumedAtMs: null,
    secrets: sealed,
    createdAtMs: nowMs,
    [ttlFields.authFlows]: Timestamp.fromMillis(expiresAtMs),
  });
  await appendAudit(
    runtime.firestore(),
    {
      action: 'flow.started',
      actor: { type: 'service_account', id: callerEmail },
      tenantId: request.tenantId,
      userId: request.userId,
      provider: provider.id,
      connectionId: null,
      outcome: 'success',
      reason: null,
    },
    runtime,
  );
  const connectUrl = connectStartUrl(callbackUrl);
  connectUrl.searchParams.set('flow', startToken);
  return {
    connectUrl: connectUrl.href,
    expiresAt: new Date(expiresAtMs).toISOString(),
    userConfirmation: confirmUser ? 'required' : 'not_required',
  };
}
