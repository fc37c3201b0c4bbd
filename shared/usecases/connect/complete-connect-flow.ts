// callback: consumes the flow bound to this browser, exchanges the grant, seals and upserts the connection (or parks
// the grant until the product confirms its user), and says where the browser goes next: the product's return URL with
// the outcome, or an error page.
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import type { ErrorCode } from '../../errors/error-codes.js';
import type { Logger } from '../../log/logger.js';
import { validateAuthorizationResponse } from '../../oauth/authorization-response.js';
import { exchangeCode } from '../../oauth/grants.js';
import { completeOAuth1Authorization } from '../../oauth/oauth1-flow.js';
import type { ConnectedGrant } from '../../oauth/token-set.js';
import type { ProviderDefinition } from '../../providers/definition-schema.js';
import { appendAudit } from '../../store/audit-log.js';
import { type AuthFlow, consumeAuthFlow, flowIdForState } from '../../store/auth-flows.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { storeConnectedGrant } from '../connections/store-connected-grant.js';
import { clearFlowCookie, flowCookieName, readCookie } from './flow-cookie.js';
import { checkSealingAvailable, type FlowSecrets, openFlowSecrets } from './flow-secrets.js';
import { type GrantToPark, parkConnectedGrant } from './park-connected-grant.js';
import { providerClient } from './provider-client.js';
import { connectedOutcome, isAllowedReturnUrl, returnUrlWithOutcome } from './return-url.js';

export type CallbackResult =
  | { readonly kind: 'redirect'; readonly location: string; readonly setCookie?: string }
  /** No trustworthy return URL: the browser gets a plain page naming the error code. */
  | { readonly kind: 'error_page'; readonly code: ErrorCode; readonly setCookie?: string };

function singleParam(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  return values.length === 1 ? values[0] : undefined;
}

async function exchangeGrant(
  runtime: BrokerRuntime,
  provider: ProviderDefinition,
  flow: AuthFlow,
  secrets: FlowSecrets,
  params: URLSearchParams,
  state: string,
): Promise<ConnectedGrant> {
  const oauth = runtime.oauth();
  const client = providerClient(runtime, provider);
  const callbackUrl = runtime.config.connect.callbackUrl;
  if (callbackUrl === undefined) throw new BrokerError('misconfigured', 'BROKER_CALLBACK_URL is not set');
  if (provider.protocol === 'oauth1a') {
    if (secrets.requestToken === undefined || secrets.requestTokenSecret === undefined) {
      throw new BrokerError('internal', 'An OAuth 1.0a flow lost its request token');
    }
    return completeOAuth1Authorization(oauth, provider, {
      client,
      requestToken: secrets.requestToken,
      requestTokenSecret: secrets.requestTokenSecret,
      params,
      scopes: flow.scopes,
      connectionConfig: flow.connectionConfig,
    });
  }
  const { code } = await validateAuthorizationResponse(oauth, provider, {
    params,
    expectedState: state,
    connectionConfig: flow.connectionConfig,
  });
  return exchangeCode(oauth, provider, {
    client,
    code,
    redirectUri: callbackUrl,
    requestedScopes: flow.scopes,
    connectionConfig: flow.connectionConfig,
    ...(secrets.codeVerifier === undefined ? {} : { codeVerifier: secrets.codeVerifier }),
    ...(secrets.nonce === undefined ? {} : { nonce: secrets.nonce }),
  });
}

async function auditFailure(runtime: BrokerRuntime, flow: AuthFlow, code: ErrorCode, logger: Logger): Promise<void> {
  try {
    await appendAudit(
      runtime.firestore(),
      {
        action: 'flow.failed',
        actor: { type: 'user_browser', id: null },
        tenantId: flow.tenantId,
        userId: flow.userId,
        provider: flow.provider,
        connectionId: null,
        outcome: code === 'access_denied' ? 'denied' : 'failure',
        reason: code,
      },
      runtime,
    );
  } catch (error) {
    // The user's outcome does not depend on the audit write; the log keeps the trace.
    logger.error('callback.audit_failed', 'could not record a failed connect flow', { error, provider: flow.provider });
  }
}

function errorCodeOf(error: unknown): ErrorCode {
  return isBrokerError(error) ? error.code : 'internal';
}

/** Handles the provider's redirect back to the broker (the redirect URI). */
export async function completeConnectFlow(
  runtime: BrokerRuntime,
  input: { readonly params: URLSearchParams; readonly cookieHeader: string | undefined },
  logger: Logger,
): Promise<CallbackResult> {
  const state = singleParam(input.params, 'state');
  if (state === undefined || state.length < 16 || state.length > 256) return { kind: 'error_page', code: 'flow_not_found' };
  const flowId = flowIdForState(state);
  const cookieName = flowCookieName(flowId);
  const consumption = await consumeAuthFlow(runtime.firestore(), {
    flowId,
    presentedBinding: readCookie(input.cookieHeader, cookieName),
    nowMs: runtime.clock.nowMs(),
  });
  if (consumption.kind === 'unknown') {
    logger.warn('callback.failed', 'callback for an unknown flow or from another browser', { errorCode: consumption.code });
    return { kind: 'error_page', code: consumption.code };
  }
  const { flow } = consumption;
  const setCookie = clearFlowCookie(cookieName);
  const fields = { tenantId: flow.tenantId, userId: flow.userId, provider: flow.provider };
  const endWith = (parameters: Parameters<typeof returnUrlWithOutcome>[1]): CallbackResult =>
    // The allowlist may have shrunk since the flow began: a URL no longer on it is not trusted.
    isAllowedReturnUrl(runtime.config.connect.returnUrlAllowlist, flow.returnUrl)
      ? { kind: 'redirect', location: returnUrlWithOutcome(flow.returnUrl, parameters), setCookie }
      : { kind: 'error_page', code: parameters.error === undefined ? 'invalid_return_url' : (parameters.error as ErrorCode), setCookie };

  if (consumption.kind === 'refused') {
    logger.warn('callback.failed', 'callback for a flow that cannot finish', { ...fields, errorCode: consumption.code });
    await auditFailure(runtime, flow, consumption.code, logger);
    return endWith({ outcome: 'failed', error: consumption.code });
  }

  const vault = runtime.vault();
  try {
    const secrets = await openFlowSecrets(vault, consumption.flow.secrets, { flowId, tenantId: flow.tenantId });
    // The blob is gone from the document; its data key goes from this process's cache too.
    vault.forget(consumption.flow.secrets);
    const provider = runtime.catalog.resolve(flow.provider);
    // KMS first, as a refresh does: the grant the exchange yields must be sealed, so fail before the code is spent.
    await checkSealingAvailable(vault, { flowId, tenantId: flow.tenantId });
    const grant = await exchangeGrant(runtime, provider, flow, secrets, input.params, state);
    const toStore: GrantToPark = {
      tenantId: flow.tenantId,
      userId: flow.userId,
      provider: provider.id,
      kind: provider.protocol === 'oauth1a' ? 'oauth1' : 'oauth2',
      grant,
      connectionConfig: flow.connectionConfig,
      actor: { type: 'user_browser', id: null },
    };
    if (flow.confirmUser === true) {
      // Whoever opened the link consented; only the product knows whether that was the user the flow is for.
      const flowId = await parkConnectedGrant(runtime, toStore);
      logger.info('callback.awaiting_confirmation', 'grant parked until the product confirms its user', { ...fields, outcome: 'pending_confirmation' });
      return endWith({ outcome: 'pending_confirmation', flowId });
    }
    const { connectionId } = await storeConnectedGrant(runtime, toStore);
    const outcome = connectedOutcome(grant);
    logger.info('callback.connected', 'connection stored', { ...fields, connectionId, outcome });
    return endWith({ outcome, connectionId });
  } catch (error) {
    const code = errorCodeOf(error);
    if (code === 'access_denied') {
      logger.info('callback.denied', 'the user declined at the provider', { ...fields, outcome: 'denied' });
    } else {
      logger.warn('callback.failed', 'the connect flow failed', { ...fields, errorCode: code, error });
    }
    await auditFailure(runtime, flow, code, logger);
    return endWith({ outcome: code === 'access_denied' ? 'denied' : 'failed', error: code });
  }
}
