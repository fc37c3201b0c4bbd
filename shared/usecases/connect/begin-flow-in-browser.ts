// The public start step: binds the flow to this browser with a cookie, then sends it to the provider.
import { BrokerError } from '../../errors/broker-error.js';
import { routeProviderUrl } from '../../oauth/origin-overrides.js';
import { claimFlowStart, flowExpiresAtMs } from '../../store/auth-flows.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { flowCookieName, readCookie, setFlowCookie } from './flow-cookie.js';
import { openFlowSecrets } from './flow-secrets.js';

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
  const secrets = await openFlowSecrets(runtime.vault(), flow.secrets, { flowId, tenantId: flow.tenantId });
  return {
    // Locally the browser, like the broker, must reach the sandbox instead of the provider; in production
    // there are no overrides and this is the provider's own URL (overrides can only ever target loopback).
    location: routeProviderUrl(secrets.authorizationUrl, runtime.config.providers.originOverrides).href,
    setCookie: setFlowCookie(flowCookieName(flowId), claimed.binding, (flowExpiresAtMs(flow) - nowMs) / 1000),
  };
}
