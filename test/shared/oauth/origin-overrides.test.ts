// PROVIDER_ORIGIN_OVERRIDES: accepted only with loopback targets; routing keeps paths and refuses plain http elsewhere.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/config.js';
import { routeProviderUrl } from '../../../shared/oauth/origin-overrides.js';

const base = { GOOGLE_CLOUD_PROJECT: 'p' };

describe('PROVIDER_ORIGIN_OVERRIDES', () => {
  it('parses a map of https origins to loopback targets', () => {
    const config = loadConfig({ ...base, PROVIDER_ORIGIN_OVERRIDES: JSON.stringify({ 'https://slack.com': 'http://127.0.0.1:4010/slack.com' }) });
    expect(config.providers.originOverrides.get('https://slack.com')).toBe('http://127.0.0.1:4010/slack.com');
  });

  it('is empty by default, as in production', () => {
    expect(loadConfig(base).providers.originOverrides.size).toBe(0);
  });

  it.each([
    { 'https://slack.com': 'https://sandbox.example.com/slack' },
    { 'https://slack.com': 'http://10.0.0.5:4010' },
    { 'http://slack.com': 'http://127.0.0.1:4010' },
    { 'https://slack.com/api': 'http://127.0.0.1:4010' },
  ])('rejects %j, naming the variable but not echoing its value', (value) => {
    expect(() => loadConfig({ ...base, PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(value) })).toThrow(
      expect.objectContaining({ code: 'misconfigured', message: expect.stringContaining('PROVIDER_ORIGIN_OVERRIDES') }),
    );
  });

  it('routes a production URL through the override, path and query kept', () => {
    const overrides = new Map([['https://slack.com', 'http://127.0.0.1:4010/slack.com']]);
    expect(routeProviderUrl('https://slack.com/api/oauth.v2.access?x=1', overrides).href).toBe('http://127.0.0.1:4010/slack.com/api/oauth.v2.access?x=1');
    expect(routeProviderUrl('https://oauth2.googleapis.com/token', overrides).href).toBe('https://oauth2.googleapis.com/token');
    expect(() => routeProviderUrl('http://metadata.internal/x', overrides)).toThrow(expect.objectContaining({ code: 'misconfigured' }));
  });
});

describe('provider client credentials', () => {
  it('collects PROVIDER_<ID>_CLIENT_ID/_SECRET pairs by provider id', () => {
    const config = loadConfig({ ...base, PROVIDER_GITHUB_APP_CLIENT_ID: 'Iv1.abc', PROVIDER_GITHUB_APP_CLIENT_SECRET: 'shh', PROVIDER_SLACK_CLIENT_ID: '123.456' });
    expect(config.providerClients).toEqual({ github_app: { clientId: 'Iv1.abc', clientSecret: 'shh' }, slack: { clientId: '123.456' } });
  });

  it('refuses a secret without its client id', () => {
    expect(() => loadConfig({ ...base, PROVIDER_ZOOM_CLIENT_SECRET: 'shh' })).toThrow(expect.objectContaining({ code: 'misconfigured' }));
  });
});
