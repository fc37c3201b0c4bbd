// When tokens are refreshed: the caller's margin on reads, cooldowns after failures, and the providers' no-expires_in policies.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../shared/time/clock.js';
import { processTokenEndpointReply } from '../../../../shared/oauth/token-endpoint.js';
import { createOAuthRuntime } from '../../../../shared/oauth/oauth-runtime.js';
import { createProviderCatalog } from '../../../../shared/providers/registry.js';
import { decideRead, nextRefreshAtMs } from '../../../../shared/usecases/refresh/refresh-schedule.js';

const MINUTE = 60_000;
const sealed = { v: 1 } as never; // decideRead only asks whether credentials exist

function document(overrides: Partial<Parameters<typeof decideRead>[0]> = {}): Parameters<typeof decideRead>[0] {
  return {
    status: 'active',
    credentials: sealed,
    expiresAtMs: null,
    nextRefreshAtMs: null,
    refresh: { lastRefreshAtMs: null, consecutiveFailures: 0, lastErrorCode: null },
    ...overrides,
  };
}

describe('decideRead', () => {
  const clock = new ManualClock();
  const input = (minValidityMs = MINUTE) => ({ nowMs: clock.nowMs(), minValidityMs, minRefreshIntervalMs: 30_000 });

  it('serves a token valid for the margin and refreshes one that is not', () => {
    expect(decideRead(document({ expiresAtMs: clock.nowMs() + 2 * MINUTE }), input()).kind).toBe('serve');
    expect(decideRead(document({ expiresAtMs: clock.nowMs() + 30_000 }), input()).kind).toBe('refresh');
    expect(decideRead(document({ expiresAtMs: clock.nowMs() + 30_000 }), input(10_000)).kind).toBe('serve');
    expect(decideRead(document({ expiresAtMs: clock.nowMs() - 1 }), input(0)).kind).toBe('refresh');
  });

  it('serves tokens without an expiry without refreshing them', () => {
    expect(decideRead(document({ expiresAtMs: null }), input(1_800_000)).kind).toBe('serve');
  });

  it('does not refresh again a token it just refreshed, when the provider grants less than the caller asks', () => {
    const justRefreshed = document({ expiresAtMs: clock.nowMs() + 5 * MINUTE, refresh: { lastRefreshAtMs: clock.nowMs() - 1000, consecutiveFailures: 0, lastErrorCode: null } });
    expect(decideRead(justRefreshed, input(30 * MINUTE)).kind).toBe('serve');
    clock.advance(31_000);
    expect(decideRead(justRefreshed, input(30 * MINUTE)).kind).toBe('refresh');
  });

  it('cools down after a failure: no refresh before nextRefreshAtMs, and says whether the token still works', () => {
    const failing = { lastRefreshAtMs: null, consecutiveFailures: 2, lastErrorCode: 'provider_unavailable' };
    const valid = document({ expiresAtMs: clock.nowMs() + 20_000, nextRefreshAtMs: clock.nowMs() + 90_000, refresh: failing });
    expect(decideRead(valid, input())).toEqual({ kind: 'cooldown', retryAtMs: clock.nowMs() + 90_000, tokenValid: true });
    const expired = document({ expiresAtMs: clock.nowMs() - 1, nextRefreshAtMs: clock.nowMs() + 90_000, refresh: failing });
    expect(decideRead(expired, input())).toMatchObject({ kind: 'cooldown', tokenValid: false });
    clock.advance(90_000);
    expect(decideRead(expired, input()).kind).toBe('refresh');
  });

  it('stops at dead and revoked grants', () => {
    expect(decideRead(document({ status: 'needs_reauth', expiresAtMs: clock.nowMs() - 1 }), input()).kind).toBe('needs_reauth');
    expect(decideRead(document({ status: 'revoked', credentials: null }), input()).kind).toBe('revoked');
  });
});

describe('nextRefreshAtMs (the sweep schedule)', () => {
  it('is the expiry minus the lead time, or half the remaining life of short-lived tokens, or never', () => {
    const now = Date.UTC(2030, 0, 1);
    expect(nextRefreshAtMs(now + 3_600_000, now, 600_000)).toBe(now + 3_000_000);
    expect(nextRefreshAtMs(now + 300_000, now, 600_000)).toBe(now + 150_000);
    expect(nextRefreshAtMs(now - 1, now, 600_000)).toBe(now);
    expect(nextRefreshAtMs(null, now, 600_000)).toBeNull();
  });
});

describe('providers without expires_in are refreshed by their declared policy', () => {
  const catalog = createProviderCatalog();
  const clock = new ManualClock();
  const runtime = createOAuthRuntime({ clock });
  const reply = async (providerId: string, body: Record<string, unknown>) =>
    (await processTokenEndpointReply(
      runtime,
      catalog.resolve(providerId),
      { status: 200, headers: new Headers({ 'content-type': 'application/json' }), body: JSON.stringify(body) } as never,
      { grant: 'refresh_token', client: { clientId: 'c', clientSecret: 's' }, endpoints: { token: 'https://example.test/token' } as never, connectionConfig: {}, requestedScopes: [], previousRefreshToken: 'rt-old' },
    )).tokens;

  it.each([
    ['notion', 24 * 3_600_000, 'refresh-every'],
    ['salesforce', 2 * 3_600_000, 'assumed'],
  ])('%s: the token is treated as expiring after the declared period, so it is refreshed on that schedule', async (providerId, periodMs, source) => {
    const tokens = await reply(providerId, providerId === 'notion'
      ? { access_token: 'ntn_x', token_type: 'bearer', refresh_token: 'rt-new', bot_id: 'b', workspace_id: 'w', owner: { type: 'user', user: { id: 'u' } } }
      : { access_token: '00Dx!y', token_type: 'Bearer', instance_url: 'https://x.my.salesforce.com', id: 'https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA', issued_at: String(clock.nowMs()), signature: 'sig' });
    expect(tokens.expirySource).toBe(source);
    expect(tokens.expiresAtMs).toBe(clock.nowMs() + periodMs);
    const planned = nextRefreshAtMs(tokens.expiresAtMs ?? null, clock.nowMs(), 600_000);
    expect(planned).toBe(clock.nowMs() + periodMs - 600_000);
    clock.advance(periodMs - 30_000);
    expect(decideRead(document({ expiresAtMs: tokens.expiresAtMs ?? null }), { nowMs: clock.nowMs(), minValidityMs: MINUTE, minRefreshIntervalMs: 30_000 }).kind).toBe('refresh');
  });

  it('github (never expires until revoked): no expiry, no scheduled refresh, always served', async () => {
    const tokens = await reply('github', { access_token: 'gho_x', token_type: 'bearer', scope: 'repo' });
    expect(tokens.expirySource).toBe('never');
    expect(tokens.expiresAtMs).toBeUndefined();
    expect(nextRefreshAtMs(tokens.expiresAtMs ?? null, clock.nowMs(), 600_000)).toBeNull();
  });
});
