// The connect flow's pure pieces: return-URL allowlisting, outcome parameters, the binding cookie, and their config.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../shared/config/config.js';
import { clearFlowCookie, flowCookieName, readCookie, setFlowCookie } from '../../../../shared/usecases/connect/flow-cookie.js';
import { isAllowedReturnUrl, requireAllowedReturnUrl, returnUrlWithOutcome } from '../../../../shared/usecases/connect/return-url.js';

const base = { GOOGLE_CLOUD_PROJECT: 'p' };

describe('connect configuration', () => {
  it('reads the callback URL, the return-URL allowlist, the flow lifetime and who confirms, within how long', () => {
    const config = loadConfig({
      ...base,
      BROKER_CALLBACK_URL: 'https://broker.example.com/callback',
      RETURN_URL_ALLOWLIST: 'https://app.example.com/done, http://127.0.0.1:8080/demo/connected',
      CONNECT_FLOW_TTL_SECONDS: '600',
      CONNECT_CONFIRMATION_TENANTS: 'tenant-a, tenant-b',
      CONNECT_CONFIRMATION_WINDOW_SECONDS: '120',
    });
    expect(config.connect).toEqual({
      callbackUrl: 'https://broker.example.com/callback',
      returnUrlAllowlist: ['https://app.example.com/done', 'http://127.0.0.1:8080/demo/connected'],
      flowTtlMs: 600_000,
      confirmationTenants: ['tenant-a', 'tenant-b'],
      confirmationWindowMs: 120_000,
    });
    // Unset, every tenant's grants wait for the product's confirmation: the safe setting is the default.
    expect(loadConfig(base).connect).toEqual({
      callbackUrl: undefined,
      returnUrlAllowlist: [],
      flowTtlMs: 900_000,
      confirmationTenants: '*',
      confirmationWindowMs: 300_000,
    });
    expect(loadConfig({ ...base, CONNECT_CONFIRMATION_TENANTS: 'none' }).connect.confirmationTenants).toEqual([]);
  });

  it.each(['*, tenant-a', 'tenant-a, none', 'tenant-a,,tenant-b'])('refuses CONNECT_CONFIRMATION_TENANTS=%j', (value) => {
    expect(() => loadConfig({ ...base, CONNECT_CONFIRMATION_TENANTS: value })).toThrow(/CONNECT_CONFIRMATION_TENANTS/);
  });

  it('refuses a confirmation window under 10 seconds or over an hour', () => {
    expect(() => loadConfig({ ...base, CONNECT_CONFIRMATION_WINDOW_SECONDS: '5' })).toThrow(/CONNECT_CONFIRMATION_WINDOW_SECONDS/);
    expect(() => loadConfig({ ...base, CONNECT_CONFIRMATION_WINDOW_SECONDS: '7200' })).toThrow(/CONNECT_CONFIRMATION_WINDOW_SECONDS/);
  });

  it.each([
    ['http on a public host', 'http://app.example.com/done'],
    ['a query', 'https://app.example.com/done?x=1'],
    ['a fragment', 'https://app.example.com/done#x'],
    ['credentials', 'https://user:pw@app.example.com/done'],
    ['something that is not a URL', 'app.example.com/done'],
  ])('refuses an allowlist entry with %s', (_what, url) => {
    expect(() => loadConfig({ ...base, RETURN_URL_ALLOWLIST: url })).toThrow(/RETURN_URL_ALLOWLIST/);
  });

  it('refuses a plain-http callback URL off loopback and a flow lifetime outside 1–60 minutes', () => {
    expect(() => loadConfig({ ...base, BROKER_CALLBACK_URL: 'http://broker.example.com/callback' })).toThrow(/BROKER_CALLBACK_URL/);
    expect(() => loadConfig({ ...base, CONNECT_FLOW_TTL_SECONDS: '30' })).toThrow(/CONNECT_FLOW_TTL_SECONDS/);
    expect(() => loadConfig({ ...base, CONNECT_FLOW_TTL_SECONDS: '7200' })).toThrow(/CONNECT_FLOW_TTL_SECONDS/);
  });
});

describe('return URLs', () => {
  const allowlist = ['https://app.example.com/settings/connected'];

  it('match only exactly', () => {
    expect(isAllowedReturnUrl(allowlist, 'https://app.example.com/settings/connected')).toBe(true);
    for (const near of [
      'https://app.example.com/settings/connected/',
      'https://app.example.com/settings/connected?next=https://evil.example',
      'https://app.example.com/settings/connected#x',
      'https://APP.example.com/settings/connected',
      'https://app.example.com.evil.example/settings/connected',
      'https://app.example.com/settings/connectedx',
    ]) {
      expect(isAllowedReturnUrl(allowlist, near), near).toBe(false);
    }
    expect(() => requireAllowedReturnUrl(allowlist, 'https://evil.example/')).toThrow(expect.objectContaining({ code: 'invalid_return_url' }));
  });

  it('carry the outcome, the connection id and the error code as query parameters', () => {
    const connected = new URL(returnUrlWithOutcome(allowlist[0] as string, { outcome: 'connected', connectionId: 'conn_1' }));
    expect(Object.fromEntries(connected.searchParams)).toEqual({ outcome: 'connected', connection_id: 'conn_1' });
    const failed = new URL(returnUrlWithOutcome(allowlist[0] as string, { outcome: 'failed', error: 'flow_expired' }));
    expect(Object.fromEntries(failed.searchParams)).toEqual({ outcome: 'failed', error: 'flow_expired' });
  });
});

describe('the browser-binding cookie', () => {
  const flowId = 'a'.repeat(64);
  const name = flowCookieName(flowId);

  it('is a __Host- cookie per flow, Secure, HttpOnly, SameSite=Lax on path /, with no Domain', () => {
    expect(name).toBe(`__Host-broker-flow-${'a'.repeat(16)}`);
    const header = setFlowCookie(name, 'v', 899.6);
    expect(header).toBe(`${name}=v; Max-Age=899; Path=/; Secure; HttpOnly; SameSite=Lax`);
    expect(clearFlowCookie(name)).toContain('Max-Age=0');
  });

  it('is read from a Cookie header only when sent exactly once', () => {
    expect(readCookie(`other=1; ${name}=secret; x=2`, name)).toBe('secret');
    expect(readCookie(undefined, name)).toBeUndefined();
    expect(readCookie(`${name}=one; ${name}=two`, name)).toBeUndefined();
    expect(readCookie(`x${name}=secret`, name)).toBeUndefined();
  });
});
