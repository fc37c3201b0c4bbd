// Request quotas per caller and per tenant on authorize, token and connections (CALLER_QUOTAS): a request over either
// is refused with 429 `quota_exceeded` and a Retry-After, before it costs a Firestore read, a KMS call or a provider call.
//
// Where the counts live: in each instance's memory, as token buckets. The token read is the hot path, and a counter
// in Firestore would add a write (and its latency) to every read, and a document takes about one sustained write a
// second, so a shared counter would need sharding and a read of every shard to decide. In memory a decision is a map
// lookup. The price: a quota is per instance. Cloud Run spreads a caller's requests over the instances serving them,
// so what one caller (or tenant) gets is at most the configured rate times the function's instances (maxInstances in
// functions/manifest.json: 20 for authorize and connections, 50 for token), and exactly the rate while one instance
// serves it. Set the rates with that in mind; the point is to stop a runaway caller or tenant from crowding out the
// others, not to meter usage.
import { z } from 'zod';
import type { CallerPolicy } from '../auth/caller-policy.js';
import type { CallerAction } from '../config/caller-policy-schema.js';
import type { CallerQuotas, QuotaFunction, QuotaRate } from '../config/caller-quotas-schema.js';
import { BrokerError } from '../errors/broker-error.js';
import type { Clock } from '../time/clock.js';
import { type Bucket, fullBucket, msUntilPermit, refill } from './token-bucket.js';

/** What a request on each function is, in caller-policy terms: a tenant counts callers its policy lets act for it. */
const quotaActions = {
  authorize: 'connect',
  token: 'read_token',
  connections: 'manage_connections',
} as const satisfies Record<QuotaFunction, CallerAction>;

/**
 * Buckets kept per instance. Past this the least recently used is forgotten (it starts full again when next used), so
 * a caller inventing tenant ids cannot grow an instance's memory.
 */
export const MAX_BUCKETS = 10_000;

export interface QuotaRequest {
  readonly functionName: QuotaFunction;
  /** The verified caller. */
  readonly callerEmail: string;
  /** The tenant the request names, if any; it is counted only for a caller its policy lets act for that tenant. */
  readonly tenantId: string | undefined;
}

export interface RequestQuotas {
  /** Counts the request against its caller's and its tenant's buckets, or throws `quota_exceeded` counting nothing. */
  admit(request: QuotaRequest): void;
}

export interface RequestQuotasDependencies {
  readonly quotas: CallerQuotas;
  readonly callerPolicy: CallerPolicy;
  readonly clock: Clock;
}

const namesTenant = z.object({ tenantId: z.string().min(1).max(256) });

/**
 * The tenant a request body or query names, read before the function validates the rest: quotas are decided first,
 * so that a caller over its quota costs nothing more. A malformed request naming no tenant counts for its caller only.
 */
export function tenantIdOf(input: unknown): string | undefined {
  const named = namesTenant.safeParse(input);
  return named.success ? named.data.tenantId : undefined;
}

interface Draw {
  readonly scope: 'caller' | 'tenant';
  readonly key: string;
  readonly rate: QuotaRate;
}

function quotaExceeded(draw: Draw, waitMs: number): BrokerError {
  const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new BrokerError('quota_exceeded', draw.scope === 'caller' ? "This caller's request quota is used up" : "This tenant's request quota is used up", {
    retryAfterSeconds,
    details: { scope: draw.scope, requests: draw.rate.requests, perSeconds: draw.rate.perSeconds, retryAfterSeconds },
  });
}

export function createRequestQuotas(dependencies: RequestQuotasDependencies): RequestQuotas {
  const { quotas, callerPolicy, clock } = dependencies;
  const buckets = new Map<string, Bucket>();
  // Maps, not the parsed objects: a tenant id such as "constructor" must not find a property of Object.prototype.
  const callerOverrides = new Map(Object.entries(quotas.callers));
  const tenantOverrides = new Map(Object.entries(quotas.tenants));

  /** The bucket for `key`, refilled to now and made the most recently used. */
  const bucketAt = (key: string, rate: QuotaRate, nowMs: number): Bucket => {
    const bucket = buckets.get(key) ?? fullBucket(rate, nowMs);
    refill(bucket, rate, nowMs);
    buckets.delete(key);
    buckets.set(key, bucket);
    if (buckets.size > MAX_BUCKETS) buckets.delete(buckets.keys().next().value as string);
    return bucket;
  };

  const drawsFor = ({ functionName, callerEmail, tenantId }: QuotaRequest): Draw[] => {
    const caller = callerEmail.toLowerCase();
    const own = callerOverrides.get(caller);
    if (own === 'unlimited') return [];
    const draws: Draw[] = [];
    const callerRate = own?.[functionName] ?? quotas[functionName]?.perCaller;
    if (callerRate !== undefined) draws.push({ scope: 'caller', key: `${functionName} caller ${caller}`, rate: callerRate });
    if (tenantId === undefined) return draws;
    const tenantRate = tenantOverrides.get(tenantId)?.[functionName] ?? quotas[functionName]?.perTenant;
    // A caller the policy does not let act for the tenant is refused by the policy anyway: counting its requests
    // against the tenant would let any caller use up another tenant's quota.
    if (tenantRate !== undefined && callerPolicy.actsFor(caller, quotaActions[functionName], tenantId)) {
      draws.push({ scope: 'tenant', key: `${functionName} tenant ${tenantId}`, rate: tenantRate });
    }
    return draws;
  };

  return {
    admit(request) {
      const draws = drawsFor(request);
      if (draws.length === 0) return;
      const nowMs = clock.nowMs();
      const drawn = draws.map((draw) => ({ draw, bucket: bucketAt(draw.key, draw.rate, nowMs) }));
      for (const { draw, bucket } of drawn) {
        const waitMs = msUntilPermit(bucket, draw.rate);
        if (waitMs > 0) throw quotaExceeded(draw, waitMs);
      }
      for (const { bucket } of drawn) bucket.permits -= 1;
    },
  };
}
