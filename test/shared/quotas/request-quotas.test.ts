// Request quotas with an injected clock: buckets per caller and per tenant, refilled evenly, refusing with the wait.
import { describe, expect, it } from 'vitest';
import { createCallerPolicy } from '../../../shared/auth/caller-policy.js';
import { loadConfig } from '../../../shared/config/config.js';
import { type CallerQuotas, callerQuotasSchema } from '../../../shared/config/caller-quotas-schema.js';
import { type BrokerError, isBrokerError } from '../../../shared/errors/broker-error.js';
import { toProblem } from '../../../shared/http/problem.js';
import { createRequestQuotas, MAX_BUCKETS, type QuotaRequest, tenantIdOf } from '../../../shared/quotas/request-quotas.js';
import { ManualClock } from '../../../shared/time/clock.js';

const web = 'web@product.iam.gserviceaccount.com';
const batch = 'batch@product.iam.gserviceaccount.com';
const stranger = 'stranger@elsewhere.iam.gserviceaccount.com';

const policy = createCallerPolicy([
  { serviceAccount: web, tenants: '*', providers: '*', actions: ['connect', 'manage_connections', 'read_token'] },
  { serviceAccount: batch, tenants: ['acme'], providers: ['slack'], actions: ['read_token'] },
]);

function quotasFor(settings: unknown) {
  const clock = new ManualClock();
  const quotas = createRequestQuotas({ quotas: callerQuotasSchema.parse(settings), callerPolicy: policy, clock });
  const attempt = (request: Partial<QuotaRequest> = {}): BrokerError | 'admitted' => {
    try {
      quotas.admit({ functionName: 'token', callerEmail: web, tenantId: 'acme', ...request });
      return 'admitted';
    } catch (error) {
      if (isBrokerError(error, 'quota_exceeded')) return error;
      throw error;
    }
  };
  return { clock, attempt };
}

const outcomes = (results: readonly (BrokerError | 'admitted')[]) => results.map((result) => (result === 'admitted' ? result : result.details?.scope));

describe('request quotas', () => {
  it('admits a burst up to the rate, refuses the next with the wait until a permit, and recovers as the bucket refills', () => {
    const { clock, attempt } = quotasFor({ token: { perCaller: { requests: 3, perSeconds: 60 } } });
    expect(outcomes([attempt(), attempt(), attempt()])).toEqual(['admitted', 'admitted', 'admitted']);
    const refused = attempt();
    expect(refused).not.toBe('admitted');
    const error = refused as BrokerError;
    expect(error.status).toBe(429);
    // One permit every 20 s.
    expect(error.retryAfterSeconds).toBe(20);
    expect(error.details).toEqual({ scope: 'caller', requests: 3, perSeconds: 60, retryAfterSeconds: 20 });
    expect(toProblem(error).headers['retry-after']).toBe('20');
    clock.advance(19_000);
    expect((attempt() as BrokerError).retryAfterSeconds).toBe(1);
    clock.advance(1_000);
    expect(attempt()).toBe('admitted');
    expect(attempt()).not.toBe('admitted');
    // A quiet minute refills the whole burst, and no more.
    clock.advance(10 * 60_000);
    expect(outcomes([attempt(), attempt(), attempt(), attempt()])).toEqual(['admitted', 'admitted', 'admitted', 'caller']);
  });

  it('counts each caller on its own, and all callers of a tenant together', () => {
    const { attempt } = quotasFor({ token: { perCaller: { requests: 2, perSeconds: 60 }, perTenant: { requests: 3, perSeconds: 60 } } });
    expect(outcomes([attempt(), attempt(), attempt()])).toEqual(['admitted', 'admitted', 'caller']);
    // A refused request took nothing from the tenant: the other caller gets the tenant's third permit.
    expect(outcomes([attempt({ callerEmail: batch }), attempt({ callerEmail: batch })])).toEqual(['admitted', 'tenant']);
    // Another tenant has its own bucket; the web caller's own is still empty.
    expect(outcomes([attempt({ callerEmail: batch, tenantId: 'globex' })])).toEqual(['admitted']);
    expect(outcomes([attempt({ tenantId: 'globex' })])).toEqual(['caller']);
  });

  it("does not let a caller the policy keeps out of a tenant use up that tenant's quota", () => {
    const { attempt } = quotasFor({ token: { perTenant: { requests: 1, perSeconds: 60 } } });
    for (let i = 0; i < 5; i += 1) expect(attempt({ callerEmail: stranger })).toBe('admitted');
    // batch may read tokens for acme only: its requests for globex are not globex's.
    expect(attempt({ callerEmail: batch, tenantId: 'globex' })).toBe('admitted');
    expect(attempt({ callerEmail: batch, tenantId: 'globex' })).toBe('admitted');
    expect(outcomes([attempt(), attempt({ callerEmail: batch })])).toEqual(['admitted', 'tenant']);
  });

  it('switches every quota off for an unlimited caller, and its requests are not counted against its tenants', () => {
    const { attempt } = quotasFor({
      token: { perCaller: { requests: 1, perSeconds: 60 }, perTenant: { requests: 1, perSeconds: 60 } },
      callers: { [batch.toUpperCase()]: 'unlimited' },
    });
    for (let i = 0; i < 50; i += 1) expect(attempt({ callerEmail: batch })).toBe('admitted');
    expect(outcomes([attempt(), attempt()])).toEqual(['admitted', 'caller']);
  });

  it('applies a caller’s and a tenant’s own rates in place of the defaults, per function', () => {
    const { attempt } = quotasFor({
      token: { perCaller: { requests: 1, perSeconds: 60 }, perTenant: { requests: 100, perSeconds: 60 } },
      callers: { [web]: { token: { requests: 3, perSeconds: 60 } } },
      tenants: { small: { token: { requests: 1, perSeconds: 60 } } },
    });
    expect(outcomes([attempt(), attempt(), attempt(), attempt()])).toEqual(['admitted', 'admitted', 'admitted', 'caller']);
    expect(outcomes([attempt({ callerEmail: batch, tenantId: 'small' }), attempt({ callerEmail: batch, tenantId: 'small' })])).toEqual(['admitted', 'caller']);
    // Other functions keep their own settings (none here).
    for (let i = 0; i < 10; i += 1) expect(attempt({ functionName: 'authorize' })).toBe('admitted');
  });

  it('counts nothing when no quota is configured', () => {
    const { attempt } = quotasFor({});
    for (let i = 0; i < 1000; i += 1) expect(attempt()).toBe('admitted');
  });

  it('keeps at most MAX_BUCKETS buckets, forgetting the least recently used', () => {
    const { attempt } = quotasFor({ token: { perCaller: { requests: 1, perSeconds: 3600 }, perTenant: { requests: 1, perSeconds: 3600 } } });
    expect(attempt({ tenantId: 'tenant-0' })).toBe('admitted');
    expect(attempt({ tenantId: 'tenant-0' })).not.toBe('admitted');
    const { attempt: other } = quotasFor({ connections: { perTenant: { requests: 1, perSeconds: 3600 } } });
    for (let i = 0; i <= MAX_BUCKETS; i += 1) expect(other({ functionName: 'connections', tenantId: `tenant-${i}` })).toBe('admitted');
    // tenant-0 was the least recently used when the map overflowed: it starts full again.
    expect(other({ functionName: 'connections', tenantId: 'tenant-0' })).toBe('admitted');
    expect(other({ functionName: 'connections', tenantId: `tenant-${MAX_BUCKETS}` })).not.toBe('admitted');
  });

  it('reads the tenant a body or query names, and nothing from anything else', () => {
    expect(tenantIdOf({ tenantId: 'acme', provider: 'slack' })).toBe('acme');
    expect(tenantIdOf({ tenantId: '' })).toBeUndefined();
    expect(tenantIdOf({ tenantId: 7 })).toBeUndefined();
    expect(tenantIdOf(Buffer.from('{"tenantId":"acme"}'))).toBeUndefined();
    expect(tenantIdOf(undefined)).toBeUndefined();
  });
});

describe('CALLER_QUOTAS', () => {
  it('is parsed, with caller emails in lower case', () => {
    const quotas: CallerQuotas = loadConfig({
      GOOGLE_CLOUD_PROJECT: 'p',
      CALLER_QUOTAS: JSON.stringify({ authorize: { perCaller: { requests: 10, perSeconds: 60 } }, callers: { [web.toUpperCase()]: 'unlimited' } }),
    }).quotas;
    expect(quotas.authorize).toEqual({ perCaller: { requests: 10, perSeconds: 60 } });
    expect(quotas.callers).toEqual({ [web]: 'unlimited' });
  });

  it('means no quotas when unset', () => {
    expect(loadConfig({ GOOGLE_CLOUD_PROJECT: 'p' }).quotas).toEqual({ callers: {}, tenants: {} });
  });

  it.each([
    ['not JSON', '{token:'],
    ['an unknown function', '{"refresh":{"perCaller":{"requests":1,"perSeconds":1}}}'],
    ['a zero rate', '{"token":{"perCaller":{"requests":0,"perSeconds":60}}}'],
    ['an unknown field', '{"token":{"perCaller":{"requests":1,"perSeconds":60,"burst":5}}}'],
    ['an off-switch spelled otherwise', '{"callers":{"a@b.iam.gserviceaccount.com":"off"}}'],
  ])('refuses %s, naming the variable', (_what, value) => {
    expect(() => loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', CALLER_QUOTAS: value })).toThrow(/CALLER_QUOTAS/);
  });
});
