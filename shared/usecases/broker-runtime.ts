// Everything a function needs, built from config once per process; heavy clients are created on first use,
// and a failed creation is not cached, so the next request tries again.
import type { Firestore } from '@google-cloud/firestore';
import { lazy } from '../async/lazy.js';
import { type CallerPolicy, createCallerPolicy } from '../auth/caller-policy.js';
import { createIdTokenVerifier, type IdTokenVerifier } from '../auth/id-token-verifier.js';
import type { Config } from '../config/config.js';
import { createVault, type Vault } from '../crypto/vault.js';
import { BrokerError } from '../errors/broker-error.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createOAuthRuntime, type OAuthRuntime } from '../oauth/oauth-runtime.js';
import { createProviderCatalog, type ProviderCatalog } from '../providers/registry.js';
import { createRequestQuotas, type RequestQuotas } from '../quotas/request-quotas.js';
import { createFirestore } from '../store/firestore-client.js';
import { type Clock, systemClock } from '../time/clock.js';
import { cryptoIdSource, type IdSource } from '../time/ids.js';
import { type ConnectionCache, createConnectionCache, defaultConnectionCacheSettings } from './token/connection-cache.js';
import { createRefreshEngine, type RefreshEngine, type RefreshEngineOptions } from './refresh/refresh-engine.js';

export interface BrokerRuntime {
  readonly config: Config;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
  readonly catalog: ProviderCatalog;
  readonly callerPolicy: CallerPolicy;
  firestore(): Firestore;
  vault(): Vault;
  oauth(): OAuthRuntime;
  /** Verifies callers' ID tokens; refuses to exist without configured audiences (deny by default). */
  idTokenVerifier(): IdTokenVerifier;
  /** This instance's request quotas (CALLER_QUOTAS), for the functions callers call. */
  requestQuotas(): RequestQuotas;
  /** The one refresh engine of this process: token reads and both sweeps share its in-flight refreshes and instance id. */
  refreshEngine(): RefreshEngine;
  /** This instance's cache of the connections it reads, coherent with Firestore (TOKEN_CACHE_*). */
  connectionCache(): ConnectionCache;
}

export interface BrokerRuntimeOverrides {
  readonly clock?: Clock;
  readonly ids?: IdSource;
  readonly logger?: Logger;
  /** Test seams and tuning of the refresh engine (hooks, jitter, instance id). */
  readonly refreshEngine?: RefreshEngineOptions;
}

export function createBrokerRuntime(config: Config, overrides: BrokerRuntimeOverrides = {}): BrokerRuntime {
  const clock = overrides.clock ?? systemClock;
  const ids = overrides.ids ?? cryptoIdSource;
  const logger = overrides.logger ?? createLogger({ projectId: config.projectId, minSeverity: config.log.minSeverity });
  // Built on first use, like the clients: a function that never resolves a provider or checks a caller (the public
  // callback has no callers) need not declare those config sections.
  const catalog = lazy(() => createProviderCatalog(config.providers.oidcProviders, config.providers.endpointAllowlist, config.providers.oauth2Providers));
  const callerPolicy = lazy(() => createCallerPolicy(config.callerPolicy));
  const firestore = lazy(() => createFirestore(config));
  const vault = lazy(() => createVault(config, { clock, logger }));
  const oauth = lazy(() =>
    createOAuthRuntime({
      overrides: config.providers.originOverrides,
      timeoutMs: config.providers.timeoutMs,
      clock,
      ids,
    }),
  );
  return {
    config,
    clock,
    ids,
    logger,
    get catalog() {
      return catalog();
    },
    get callerPolicy() {
      return callerPolicy();
    },
    firestore,
    vault,
    oauth,
    refreshEngine: lazy(() =>
      createRefreshEngine(
        {
          firestore: firestore(),
          vault: vault(),
          oauth: oauth(),
          catalog: catalog(),
          clients: config.providerClients,
          settings: config.refresh,
          clock,
          ids,
          logger,
        },
        overrides.refreshEngine,
      ),
    ),
    connectionCache: lazy(() =>
      createConnectionCache({ firestore: firestore(), clock, logger, instanceId: ids.newId() }, { ...defaultConnectionCacheSettings, ...config.tokenCache }),
    ),
    requestQuotas: lazy(() => createRequestQuotas({ quotas: config.quotas, callerPolicy: callerPolicy(), clock })),
    idTokenVerifier: lazy(() => {
      if (config.callerIdentity.audiences.length === 0) {
        throw new BrokerError('misconfigured', 'ID_TOKEN_AUDIENCES is not set: no caller can be verified', {
          details: { variables: ['ID_TOKEN_AUDIENCES'] },
        });
      }
      return createIdTokenVerifier({ ...config.callerIdentity, clock });
    }),
  };
}
