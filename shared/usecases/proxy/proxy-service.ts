// Wires the proxied call from the broker runtime: the runtime's one refresh engine, the caller policy, the catalog and
// the same origin overrides every provider call goes through.
import type { VerifiedCaller } from '../../auth/id-token-verifier.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import type { RequestEffects } from '../refresh/refresh-engine.js';
import { proxyCall, type ProxyCallRequest, type ProxyReplyWriter } from './proxy-call.js';

export interface ProxyService {
  /** `effects` belongs to this request alone: it says whether the call changed the connection's state. */
  call(caller: VerifiedCaller, request: ProxyCallRequest, writer: ProxyReplyWriter, effects: RequestEffects): Promise<void>;
}

export function createProxyService(runtime: BrokerRuntime): ProxyService {
  return {
    call: (caller, request, writer, effects) =>
      proxyCall(
        {
          firestore: runtime.firestore(),
          connections: runtime.connectionCache(),
          engine: runtime.refreshEngine(),
          callerPolicy: runtime.callerPolicy,
          catalog: runtime.catalog,
          transport: { overrides: runtime.config.providers.originOverrides },
          minValidityMs: runtime.config.refresh.defaultMinValidityMs,
          clock: runtime.clock,
          ids: runtime.ids,
          logger: runtime.logger,
        },
        caller,
        request,
        writer,
        effects,
      ),
  };
}
