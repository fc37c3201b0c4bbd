// The proxy's destination: each provider's API base, filled from a connection, only ever inside its endpoint boundary.
import { describe, expect, it } from 'vitest';
import { expandApiBase } from '../../../shared/providers/endpoint-boundary.js';
import { createProviderCatalog } from '../../../shared/providers/registry.js';
import { forwardableRequestHeaders, passableReplyHeaders } from '../../../shared/usecases/proxy/provider-api-request.js';

const FHIR = 'https://fhir.example.test/r4';
const catalog = createProviderCatalog([], { smart_on_fhir: { issuers: [FHIR], origins: [] } });
const baseOf = (provider: string, values: Record<string, string>) => {
  const definition = catalog.resolve(provider);
  return expandApiBase(definition.endpointBoundary, definition.api?.baseUrl as string, values).href;
};

describe('API bases', () => {
  it('fills per-connection bases from what the provider named or the operator registered', () => {
    expect(baseOf('salesforce', { loginHost: 'login.salesforce.com', instanceUrl: 'https://acme.my.salesforce.com' })).toBe('https://acme.my.salesforce.com/');
    expect(baseOf('atlassian', { cloudId: 'c0ffee-1234' })).toBe('https://api.atlassian.com/ex/jira/c0ffee-1234');
    expect(baseOf('smart_on_fhir', { fhirBaseUrl: FHIR })).toBe(FHIR);
    expect(baseOf('slack', {})).toBe('https://slack.com/api');
  });

  it.each([
    ['salesforce', { instanceUrl: 'https://evil.test' }],
    ['salesforce', { instanceUrl: 'https://acme.my.salesforce.com/path' }],
    ['salesforce', { instanceUrl: 'http://acme.my.salesforce.com' }],
    ['salesforce', { instanceUrl: 'https://user@acme.my.salesforce.com' }],
    ['atlassian', { cloudId: '../../evil' }],
    ['atlassian', { cloudId: 'a/b' }],
    ['smart_on_fhir', { fhirBaseUrl: 'https://fhir.evil.test/r4' }],
  ])('refuses a %s connection pointing elsewhere (%j) before any request', (provider, values) => {
    expect(() => baseOf(provider, values)).toThrow(expect.objectContaining({ code: 'provider_error' }));
  });

  it('says what a connection lacks when its base needs metadata it does not have', () => {
    expect(() => baseOf('atlassian', {})).toThrow(expect.objectContaining({ code: 'proxy_not_supported', details: expect.objectContaining({ fields: ['cloudId'] }) }));
  });

  it('has no API base for OAuth 1.0a Trello, whose calls are signed per request', () => {
    expect(catalog.resolve('trello').api).toBeUndefined();
  });
});

describe('headers across the proxy', () => {
  it('keeps the caller\'s credentials, cookies, platform and broker headers from the provider', () => {
    const raw = [
      'Authorization', 'Bearer id-token', 'X-Serverless-Authorization', 'Bearer id-token', 'Cookie', 'a=b', 'Host', 'broker.test',
      'Connection', 'keep-alive, x-hop', 'X-Hop', '1', 'Transfer-Encoding', 'chunked', 'X-Forwarded-For', '10.0.0.1', 'traceparent', '00-abc',
      'X-Broker-Tenant-Id', 't1', 'Accept', 'application/json', 'Notion-Version', '2022-06-28', 'Link', '<a>', 'Link', '<b>',
    ];
    expect(forwardableRequestHeaders(raw)).toEqual([
      ['Accept', 'application/json'],
      ['Notion-Version', '2022-06-28'],
      ['Link', '<a>'],
      ['Link', '<b>'],
    ]);
  });

  it('passes the provider\'s headers back except cookies, credentials and hop-by-hop ones', () => {
    const raw = ['Content-Type', 'application/json', 'Set-Cookie', 'session=1', 'Retry-After', '7', 'Connection', 'close', 'WWW-Authenticate', 'Bearer error="invalid_token"', 'Alt-Svc', 'h3=":443"'];
    expect(passableReplyHeaders(raw)).toEqual([
      ['Content-Type', 'application/json'],
      ['Retry-After', '7'],
      ['WWW-Authenticate', 'Bearer error="invalid_token"'],
    ]);
  });
});
