// The public start step: binds the flow to this browser with a cookie, then sends it to the provider.
import { BrokerError } from '../../errors/broker-error.js';
import { routeProviderUrl } from '../../oauth/origin-overrides.js';
import { startOAuth1Authorization } from '../../oauth/oauth1-flow.js';
import { type AuthFlow, claimFlowStart, flowExpiresAtMs, replaceFlowSecrets } from '../../store/auth-flows.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { flowCookieName, readCookie, setFlowCookie } from './flow-cookie.js';
import { type FlowSecrets, openFlowSecrets, sealFlowSecrets } from './flow-secrets.js';
import { providerClient } from './provider-client.js';

export interface BrowserStart {
  /** The provider's authorization URL. */
  readonly location: string;
  readonly setCookie: string;
}

const BINDING_BYTES = 32;

export async function beginFlowInBrowser(
  runtime: BrokerRuntime,
  input: { readonly startToken: string | undefined; readonly cookieHeader: string | undefined },
): Promise<BrowserStart> {
  if (input.startToken === undefined || !/^[A-Za-z0-9_-]{16,128}$/.test(input.startToken)) {
    throw new BrokerError('flow_not_found', 'This connect link is incomplete or malformed');
  }
  const nowMs = runtime.clock.nowMs();
  const claimed = await claimFlowStart(runtime.firestore(), {
    startToken: input.startToken,
    presentedBinding: (flowId) => readCookie(input.cookieHeader, flowCookieName(flowId)),
    newBinding: runtime.ids.secretToken(BINDING_BYTES),
    nowMs,
  });
  const { flow, flowId } = claimed;
  if (flow.secrets === null) throw new BrokerError('flow_already_used', 'This connect link was already used');
  const where = { flowId, tenantId: flow.tenantId };
  const secrets = await openFlowSecrets(runtime.vault(), flow.secrets, where);
  // A reload of an OAuth 1.0a start link finds the request token already obtained and goes to the same URL.
  const authorizationUrl = secrets.authorizationUrl ?? (await obtainRequestToken(runtime, flow, where, secrets));
  return {
    // Locally the browser, like the broker, must reach the sandbox instead of the provider; in production
    // there are no overrides and this is the provider's own URL (overrides can only ever target loopback).
    location: routeProviderUrl(authorizationUrl, runtime.config.providers.originOverrides).href,
    setCookie: setFlowCookie(flowCookieName(flowId), claimed.binding, (flowExpiresAtMs(flow) - nowMs) / 1000),
  };
}

/**
 * OAuth 1.0a: the signed request-token call happens here, in the function that holds the consumer secret, not in
 * authorize (which holds no provider secret). Its token and secret are sealed into the flow for the callback.
 */
async function obtainRequestToken(
  runtime: BrokerRuntime,
  flow: AuthFlow,
  where: { readonly flowId: string; readonly tenantId: string },
  secrets: FlowSecrets,
): Promise<string> {
  if (secrets.oauth1CallbackUrl === undefined) throw new BrokerError('crypto_integrity', 'Sealed flow secrets do not have the expected shape');
  const provider = runtime.catalog.resolve(flow.provider);
  const started = await startOAuth1Authorization(runtime.oauth(), provider, {
    client: providerClient(runtime, provider),
    callbackUrl: secrets.oauth1CallbackUrl,
    scopes: flow.scopes,
    connectionConfig: flow.connectionConfig,
  });
  const completed = { ...secrets, authorizationUrl: started.url, requestToken: started.requestToken, requestTokenSecret: started.requestTokenSecret };
  await replaceFlowSecrets(runtime.firestore(), where.flowId, await sealFlowSecrets(runtime.vault(), completed, where));
  return completed.authorizationUrl;
}
