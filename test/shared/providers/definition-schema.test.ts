// The definition schema rejects incomplete or inconsistent providers when they load, not at the first request.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineProvider, type ProviderDefinition, type ProviderDefinitionInput } from '../../../shared/providers/definition-schema.js';
import { createProviderCatalog } from '../../../shared/providers/registry.js';
import { defineOidcProvider } from '../../../shared/providers/definitions/oidc.js';

const minimal = {
  id: 'example',
  displayName: 'Example',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({}).strict(),
  endpoints: { authorization: 'https://example.com/authorize', token: 'https://example.com/token' },
  scopes: { separator: ' ', defaults: [], allowed: { kind: 'list', values: ['read'] } },
  pkce: { method: 'S256' },
  clientAuthentication: 'client_secret_basic',
  tokenRequest: { bodyFormat: 'form' },
  refresh: { supported: true, rotates: 'never', deadGrantErrors: ['invalid_grant'] },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 3600 },
  revocation: { kind: 'none', reason: 'Example has no revocation endpoint.' },
  identity: {
    kind: 'requests',
    requests: [{ name: 'me', request: { method: 'GET', url: 'https://example.com/me', bearer: 'access_token' } }],
    parse: () => ({ accountId: 'x' }),
  },
} satisfies ProviderDefinitionInput;

describe('provider definition schema', () => {
  it('accepts a complete definition (adding a compliant provider is data only)', () => {
    expect(defineProvider(minimal).id).toBe('example');
  });

  it('rejects a template variable the connection config does not declare', () => {
    expect(() => defineProvider({ ...minimal, endpoints: { authorization: 'https://{tenant}.example.com/a', token: 'https://example.com/t' } })).toThrow(/\{tenant\} is not in the connection config schema/);
    expect(() => defineProvider({ ...minimal, connectionConfigSchema: z.object({ tenant: z.string() }).strict(), variableHosts: ['*.example.com'], endpoints: { authorization: 'https://{tenant}.example.com/a', token: 'https://example.com/t' } })).not.toThrow();
  });

  it('rejects a caller-chosen host without the hosts it may name', () => {
    const tenantHost = { ...minimal, connectionConfigSchema: z.object({ tenant: z.string() }).strict(), endpoints: { authorization: 'https://{tenant}.example.com/a', token: 'https://example.com/t' } };
    expect(() => defineProvider(tenantHost)).toThrow(/variable host needs variableHosts/);
    expect(() => defineProvider({ ...tenantHost, variableHosts: ['*.'] })).toThrow(/variableHosts/);
    expect(() => defineProvider({ ...tenantHost, variableHosts: ['Example.COM'] })).toThrow(/variableHosts/);
  });

  it('rejects PKCE none without a reason, plain-http endpoints, and identity calls without a parser', () => {
    expect(() => defineProvider({ ...minimal, pkce: { method: 'none' } as never })).toThrow(/pkce/);
    expect(() => defineProvider({ ...minimal, endpoints: { authorization: 'http://example.com/a', token: 'https://example.com/t' } })).toThrow(/https/);
    const { parse: _parse, ...identityWithoutParser } = minimal.identity as Extract<ProviderDefinitionInput['identity'], { kind: 'requests' }>;
    expect(() => defineProvider({ ...minimal, identity: identityWithoutParser as never })).toThrow(/identity\.parse: must be a function/);
    expect(() => defineProvider({ ...minimal, tokenRequest: { bodyFormat: 'form', readReply: 'not a hook' as never } })).toThrow(/tokenRequest\.readReply: must be a function/);
  });

  it('takes an OAuth 1.0a definition only with its request token endpoint and without OAuth 2.0 sections', () => {
    const oauth1a = {
      ...minimal,
      protocol: 'oauth1a',
      pkce: { method: 'none', reason: 'OAuth 1.0a has no PKCE; requests are signed.' },
      endpoints: { authorization: 'https://example.com/a', token: 'https://example.com/t', requestToken: 'https://example.com/r' },
    } satisfies ProviderDefinitionInput;
    expect(defineProvider(oauth1a).protocol).toBe('oauth1a');
    const { requestToken: _requestToken, ...withoutRequestToken } = oauth1a.endpoints;
    expect(() => defineProvider({ ...oauth1a, endpoints: withoutRequestToken as never })).toThrow(/endpoints\.requestToken: Invalid input: expected string/);
    const clientCredentials = { clientAuthentication: 'client_secret_basic', account: { kind: 'token-response' } };
    expect(() => defineProvider({ ...oauth1a, clientCredentials: clientCredentials as never })).toThrow(/clientCredentials: clientCredentials needs protocol oauth2/);
    expect(() => defineProvider({ ...oauth1a, api: { baseUrl: 'https://api.example.com' } as never })).toThrow(/api: api needs protocol oauth2/);
    const discovered = { discovery: 'oauth', issuer: 'https://example.com' };
    expect(() => defineProvider({ ...oauth1a, endpoints: { ...oauth1a.endpoints, ...discovered } as never })).toThrow(/endpoints\.discovery: OAuth 1\.0a has no discovery/);
    // The request token endpoint is OAuth 1.0a's alone: an OAuth 2.0 definition naming one has a typo or the wrong protocol.
    expect(() => defineProvider({ ...minimal, endpoints: { ...oauth1a.endpoints } as never })).toThrow(/endpoints: Unrecognized key: "requestToken"/);
    expect(() => defineProvider({ ...minimal, protocol: 'oauth3' as never })).toThrow(/protocol: must be oauth2 or oauth1a/);
  });

  // Checked when the tests are type-checked (tsc --noEmit): these lines stop compiling if a variant loses its shape.
  it('types each protocol with the sections it has', () => {
    type OAuth1aDefinition = Extract<ProviderDefinition, { protocol: 'oauth1a' }>;
    type OAuth2Definition = Extract<ProviderDefinition, { protocol: 'oauth2' }>;
    expectTypeOf<OAuth1aDefinition['endpoints']['requestToken']>().toEqualTypeOf<string>();
    expectTypeOf<OAuth1aDefinition['clientCredentials']>().toEqualTypeOf<undefined>();
    expectTypeOf<OAuth1aDefinition['api']>().toEqualTypeOf<undefined>();
    expectTypeOf<OAuth1aDefinition['endpoints']['discovery']>().toEqualTypeOf<undefined>();
    expectTypeOf<Extract<OAuth2Definition['endpoints'], { discovery?: undefined }>>().not.toHaveProperty('requestToken');
    expectTypeOf<Extract<OAuth2Definition['endpoints'], { discovery: string }>>().toEqualTypeOf<{ discovery: 'oidc' | 'oauth' | 'smart'; issuer: string }>();
  });

  it('takes exactly one endpoint source, and reads userinfo or an id_token only where it can be checked', () => {
    const discovered = { ...minimal, endpoints: { discovery: 'oidc', issuer: 'https://example.com' } } satisfies ProviderDefinitionInput;
    expect(defineProvider(discovered).endpoints).toEqual({ discovery: 'oidc', issuer: 'https://example.com' });
    const { endpoints: _endpoints, ...withoutEndpoints } = minimal;
    expect(() => defineProvider(withoutEndpoints as never)).toThrow(/endpoints: Invalid input: expected object, received undefined/);
    expect(() => defineProvider({ ...minimal, endpoints: { ...minimal.endpoints, ...discovered.endpoints } as never })).toThrow(/endpoints: Unrecognized keys: "authorization", "token"/);
    expect(() => defineProvider({ ...minimal, discovery: discovered.endpoints } as never)).toThrow(/Unrecognized key: "discovery"/);
    expect(() => defineProvider({ ...minimal, endpoints: { discovery: 'saml', issuer: 'https://example.com' } as never })).toThrow(/endpoints\.discovery: must be oidc, oauth or smart/);
    expect(() => defineProvider({ ...minimal, identity: { kind: 'oidc-userinfo' } })).toThrow(/oidc-userinfo identity needs discovery/);
    expect(defineProvider({ ...discovered, identity: { kind: 'oidc-userinfo' } }).identity.kind).toBe('oidc-userinfo');
    expect(() => defineProvider({ ...minimal, idToken: 'expected' })).toThrow(/an id_token needs an expected issuer or discovery/);
    expect(defineProvider({ ...minimal, idToken: 'expected', issuer: { expected: 'https://example.com', authorizationResponseIss: 'never' } }).idToken).toBe('expected');
    expect(defineProvider({ ...discovered, idToken: 'expected' }).idToken).toBe('expected');
  });

  it('builds the whole catalog and refuses duplicate ids', () => {
    const catalog = createProviderCatalog([{ id: 'acme_sso', displayName: 'Acme SSO', issuer: 'https://login.acme.example' }]);
    expect(catalog.providers.map((p) => p.id)).toEqual(expect.arrayContaining(['slack', 'google', 'microsoft', 'notion', 'salesforce', 'hubspot', 'dropbox', 'asana', 'github', 'github_app', 'atlassian', 'zoom', 'trello', 'smart_on_fhir', 'acme_sso']));
    expect(() => createProviderCatalog([{ id: 'slack', displayName: 'x', issuer: 'https://x.example' }])).toThrow(expect.objectContaining({ code: 'misconfigured' }));
    expect(() => defineOidcProvider({ id: 'bad', displayName: 'Bad', issuer: 'http://x.example' })).toThrow();
  });
});
