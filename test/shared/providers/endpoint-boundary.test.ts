// Client credentials go only where they were registered: caller-chosen endpoint values and discovered endpoints are
// held to each provider's boundary before any request is made.
import { describe, expect, it } from 'vitest';
import { buildAuthorizationRequest } from '../../../shared/oauth/authorization-request.js';
import { exchangeCode, refreshGrant } from '../../../shared/oauth/grants.js';
import { createOAuthRuntime } from '../../../shared/oauth/oauth-runtime.js';
import { sendProviderRequest } from '../../../shared/oauth/provider-http.js';
import type { ProviderTransport } from '../../../shared/oauth/provider-transport.js';
import { parseAppOnlyConnectionConfig, parseConnectionConfig } from '../../../shared/providers/connection-config.js';
import { expandEndpoint, requireConfigInsideBoundary } from '../../../shared/providers/endpoint-boundary.js';
import { createProviderCatalog } from '../../../shared/providers/registry.js';

const FHIR = 'https://fhir.hospital.example/api/FHIR/R4';
const client = { clientId: 'broker', clientSecret: 'registered-secret-0123456789' };

const plain = createProviderCatalog();
const registered = createProviderCatalog([], { smart_on_fhir: { issuers: [FHIR], origins: ['https://auth.hospital.example'] } });

/** A transport that records every request it is asked to make and answers from a table of production URLs. */
function recordingFetch(answers: Readonly<Record<string, unknown>>) {
  const requests: { url: string; authorization: string | null }[] = [];
  const transport: ProviderTransport = async ({ url: target, headers }) => {
    const url = target.href;
    requests.push({ url, authorization: new Headers(headers).get('authorization') });
    const body = answers[url];
    const json = { 'content-type': 'application/json' };
    return body === undefined ? { status: 404, headers: new Headers(json), body: '{}' } : { status: 200, headers: new Headers(json), body: JSON.stringify(body) };
  };
  return { requests, runtime: createOAuthRuntime({ transport }) };
}

function smartConfiguration(overrides: Record<string, unknown> = {}) {
  return {
    authorization_endpoint: 'https://auth.hospital.example/oauth2/authorize',
    token_endpoint: 'https://auth.hospital.example/oauth2/token',
    code_challenge_methods_supported: ['S256'],
    ...overrides,
  };
}

const refused = (fields: string[]) => expect.objectContaining({ code: 'invalid_connection_config', details: expect.objectContaining({ fields }) });

describe('Salesforce loginHost', () => {
  const salesforce = plain.resolve('salesforce');

  it('may name the production and sandbox login hosts and My Domains', () => {
    for (const loginHost of ['login.salesforce.com', 'test.salesforce.com', 'acme.my.salesforce.com', 'acme--uat.sandbox.my.salesforce.com']) {
      expect(parseConnectionConfig(salesforce, { loginHost })).toEqual({ loginHost });
      expect(expandEndpoint(salesforce.endpointBoundary, 'https://{loginHost}/services/oauth2/token', { loginHost })).toBe(`https://${loginHost}/services/oauth2/token`);
    }
  });

  it('cannot point the token endpoint at another host, even past a looser schema', () => {
    for (const loginHost of ['evil.example', 'login.salesforce.com.evil.example', 'login.salesforce.com@evil.example', 'evil.example/x', 'my.salesforce.com', 'login.salesforce.com:8443']) {
      expect(() => parseConnectionConfig(salesforce, { loginHost })).toThrow(refused(['loginHost']));
      // The boundary alone, as if the schema had let the value through.
      expect(() => requireConfigInsideBoundary(salesforce.endpointBoundary, { loginHost })).toThrow(refused(['loginHost']));
    }
  });

  it('holds app-only connections to the same hosts', () => {
    expect(parseAppOnlyConnectionConfig(salesforce, { loginHost: 'acme.my.salesforce.com' })).toEqual({ loginHost: 'acme.my.salesforce.com' });
    expect(() => requireConfigInsideBoundary(salesforce.endpointBoundary, { loginHost: 'acme.my.salesforce.com.evil.example' })).toThrow(refused(['loginHost']));
  });
});

describe('Microsoft tenant', () => {
  const microsoft = plain.resolve('microsoft');

  it('fills one path segment on login.microsoftonline.com', () => {
    for (const tenant of ['common', 'organizations', 'contoso.onmicrosoft.com', '9188040d-6c67-4c5b-b112-36a304b66dad']) {
      expect(expandEndpoint(microsoft.endpointBoundary, 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token', { tenant })).toBe(
        `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`,
      );
    }
  });

  it('refuses a value that would leave its segment, naming the field', () => {
    for (const tenant of ['..', '.', 'a/b', '..%2F..%2Fevil', 'x?next=https://evil.example', 'x#', 'evil.example\\x', '']) {
      expect(() => requireConfigInsideBoundary(microsoft.endpointBoundary, { tenant })).toThrow(refused(['tenant']));
    }
    expect(() => parseConnectionConfig(microsoft, { tenant: '../../x' })).toThrow(refused(['tenant']));
  });
});

describe('SMART on FHIR fhirBaseUrl', () => {
  it('names no server at all until the operator registers some', () => {
    expect(() => parseConnectionConfig(plain.resolve('smart_on_fhir'), { fhirBaseUrl: FHIR })).toThrow(refused(['fhirBaseUrl']));
  });

  it('must equal a registered base URL exactly', () => {
    const smart = registered.resolve('smart_on_fhir');
    expect(parseConnectionConfig(smart, { fhirBaseUrl: FHIR })).toEqual({ fhirBaseUrl: FHIR });
    for (const fhirBaseUrl of [`${FHIR}/x`, 'https://fhir.hospital.example/api/FHIR/R', 'https://FHIR.hospital.example/api/FHIR/R4', 'https://fhir.hospital.example:8443/api/FHIR/R4', 'https://attacker.example/r4']) {
      expect(() => parseConnectionConfig(smart, { fhirBaseUrl })).toThrow(refused(['fhirBaseUrl']));
    }
  });

  it('refuses an unregistered server before any request, on connect and on refresh of a stored connection', async () => {
    const { requests, runtime } = recordingFetch({});
    const smart = plain.resolve('smart_on_fhir');
    const connectionConfig = { fhirBaseUrl: 'https://attacker.example/r4' };
    await expect(buildAuthorizationRequest(runtime, smart, { clientId: 'broker', redirectUri: 'https://broker.example/callback', scopes: [], state: 's'.repeat(32), connectionConfig })).rejects.toThrow(
      refused(['fhirBaseUrl']),
    );
    await expect(refreshGrant(runtime, smart, { client, refreshToken: 'stored-refresh-token', scopes: [], connectionConfig })).rejects.toThrow(refused(['fhirBaseUrl']));
    expect(requests).toEqual([]);
  });

  it('uses discovered endpoints only on registered origins, and never sends the secret elsewhere', async () => {
    const smart = registered.resolve('smart_on_fhir');
    const discovery = `${FHIR}/.well-known/smart-configuration`;
    const hostile = recordingFetch({ [discovery]: smartConfiguration({ token_endpoint: 'https://collector.attacker.example/token' }) });
    const exchange = exchangeCode(hostile.runtime, smart, {
      client,
      code: 'code',
      redirectUri: 'https://broker.example/callback',
      codeVerifier: 'v'.repeat(43),
      requestedScopes: [],
      connectionConfig: { fhirBaseUrl: FHIR },
    });
    await expect(exchange).rejects.toMatchObject({ code: 'provider_error', details: { reason: 'endpoint_not_allowed', origin: 'https://collector.attacker.example' } });
    expect(hostile.requests.map((request) => request.url)).toEqual([discovery]);
    expect(hostile.requests.every((request) => request.authorization === null)).toBe(true);

    // The authorization server the operator registered beside the FHIR server is fine.
    const honest = recordingFetch({ [discovery]: smartConfiguration() });
    const built = await buildAuthorizationRequest(honest.runtime, smart, { clientId: 'broker', redirectUri: 'https://broker.example/callback', scopes: [], state: 's'.repeat(32), connectionConfig: { fhirBaseUrl: FHIR } });
    expect(new URL(built.url).origin).toBe('https://auth.hospital.example');
  });

  it('checks the issuer whenever the document names one', async () => {
    const smart = registered.resolve('smart_on_fhir');
    const { runtime } = recordingFetch({ [`${FHIR}/.well-known/smart-configuration`]: smartConfiguration({ issuer: 'https://auth.hospital.example' }) });
    await expect(buildAuthorizationRequest(runtime, smart, { clientId: 'broker', redirectUri: 'https://broker.example/callback', scopes: [], state: 's'.repeat(32), connectionConfig: { fhirBaseUrl: FHIR } })).rejects.toMatchObject({
      code: 'issuer_mismatch',
    });
  });
});

describe('every outbound request', () => {
  it('is refused outside the provider boundary without reaching the network', async () => {
    const { requests, runtime } = recordingFetch({});
    const slack = plain.resolve('slack');
    await expect(sendProviderRequest(runtime.http, slack.endpointBoundary, { method: 'POST', url: 'https://attacker.example/api/oauth.v2.access' })).rejects.toMatchObject({
      code: 'provider_error',
      details: { reason: 'endpoint_not_allowed' },
    });
    await expect(sendProviderRequest(runtime.http, slack.endpointBoundary, { method: 'POST', url: 'https://user:pass@slack.com/api/oauth.v2.access' })).rejects.toMatchObject({
      code: 'provider_error',
    });
    expect(requests).toEqual([]);
  });
});

describe('PROVIDER_ENDPOINT_ALLOWLIST entries', () => {
  it('apply only where they can: base URLs for SMART, origins for discovered providers, and known providers only', () => {
    const misconfigured = expect.objectContaining({ code: 'misconfigured' });
    expect(() => createProviderCatalog([], { slack: { issuers: ['https://slack.example'], origins: [] } })).toThrow(misconfigured);
    expect(() => createProviderCatalog([], { salesforce: { issuers: [], origins: ['https://evil.example'] } })).toThrow(misconfigured);
    expect(() => createProviderCatalog([], { smart_on_fhri: { issuers: [FHIR], origins: [] } })).toThrow(misconfigured);
    const oidc = createProviderCatalog([{ id: 'okta_acme', displayName: 'Acme Okta', issuer: 'https://acme.okta.example' }], { okta_acme: { issuers: [], origins: ['https://acme-auth.okta.example'] } });
    expect(oidc.resolve('okta_acme').endpointBoundary.origins).toEqual(new Set(['https://acme.okta.example', 'https://acme-auth.okta.example']));
  });
});
