// What every OAuth operation needs injected: outbound HTTP, a clock, randomness and the discovery cache.
import { type Clock, systemClock } from '../time/clock.js';
import { cryptoIdSource, type IdSource } from '../time/ids.js';
import { DiscoveryCache } from './discovery.js';
import { noOriginOverrides, type OriginOverrides } from './origin-overrides.js';
import { createProviderHttp, type ProviderHttp } from './provider-http.js';
import type { ProviderTransport } from './provider-transport.js';

export interface OAuthRuntime {
  readonly http: ProviderHttp;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly discovery: DiscoveryCache;
}

export interface OAuthRuntimeOptions {
  readonly overrides?: OriginOverrides;
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  readonly ids?: IdSource;
  readonly transport?: ProviderTransport;
}

export function createOAuthRuntime(options: OAuthRuntimeOptions = {}): OAuthRuntime {
  const clock = options.clock ?? systemClock;
  return Object.freeze({
    http: createProviderHttp({
      overrides: options.overrides ?? noOriginOverrides,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.transport === undefined ? {} : { transport: options.transport }),
    }),
    clock,
    ids: options.ids ?? cryptoIdSource,
    discovery: new DiscoveryCache(clock),
  });
}
