// Wires the token read from the broker runtime: one refresh engine per process (per Cloud Run instance), built on first use.
import type { VerifiedCaller } from '../../auth/id-token-verifier.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { createRefreshEngine, type RefreshEngine, type RefreshEngineOptions } from '../refresh/refresh-engine.js';
import { readToken } from './read-token.js';
import type { TokenRequest, TokenResponse } from './token-request.js';

export interface TokenService {
  read(caller: VerifiedCaller, request: TokenRequest): Promise<TokenResponse>;
  /** The engine, created on first use; the refresh sweep of the same process shares it. */
  engine(): RefreshEngine;
}

export function refreshEngineFor(runtime: BrokerRuntime, options: RefreshEngineOptions = {}): RefreshEngine {
  return createRefreshEngine(
    {
      firestore: runtime.firestore(),
      vault: runtime.vault(),
      oauth: runtime.oauth(),
      catalog: runtime.catalog,
      clients: runtime.config.providerClients,
      settings: runtime.config.refresh,
      clock: runtime.clock,
      ids: runtime.ids,
      logger: runtime.logger,
    },
    options,
  );
}

export function createTokenService(runtime: BrokerRuntime, options: RefreshEngineOptions = {}): TokenService {
  let engine: RefreshEngine | undefined;
  // A failed creation (say, KMS_KEY_NAME missing) is not cached: the next request tries again.
  const engineOnce = () => {
    engine ??= refreshEngineFor(runtime, options);
    return engine;
  };
  return {
    engine: engineOnce,
    read: (caller, request) =>
      readToken(
        {
          firestore: runtime.firestore(),
          engine: engineOnce(),
          callerPolicy: runtime.callerPolicy,
          defaultMinValidityMs: runtime.config.refresh.defaultMinValidityMs,
          clock: runtime.clock,
          ids: runtime.ids,
          logger: runtime.logger,
        },
        caller,
        request,
      ),
  };
}
