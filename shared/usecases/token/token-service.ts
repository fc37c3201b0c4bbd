// Wires the token read from the broker runtime: the runtime's one refresh engine, the caller policy and the defaults.
import type { VerifiedCaller } from '../../auth/id-token-verifier.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import type { RequestEffects } from '../refresh/refresh-engine.js';
import { readToken } from './read-token.js';
import type { TokenRequest, TokenResponse } from './token-request.js';

export interface TokenService {
  /** `effects` belongs to this request alone: it says whether the read changed the connection's state. */
  read(caller: VerifiedCaller, request: TokenRequest, effects?: RequestEffects): Promise<TokenResponse>;
}

export function createTokenService(runtime: BrokerRuntime): TokenService {
  return {
    read: (caller, request, effects) =>
      readToken(
        {
          firestore: runtime.firestore(),
          connections: runtime.connectionCache(),
          engine: runtime.refreshEngine(),
          callerPolicy: runtime.callerPolicy,
          defaultMinValidityMs: runtime.config.refresh.defaultMinValidityMs,
          clock: runtime.clock,
          ids: runtime.ids,
          logger: runtime.logger,
        },
        caller,
        request,
        effects,
      ),
  };
}
