// The definition schema rejects incomplete or inconsistent providers when they load, not at the first request.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineProvider, type ProviderDefinitionInput } from '../../../shared/providers/definition-schema.js';
import { createProviderCatalog } from '../../../shared/providers/registry.js';
import { defineOidcProvider } from '../../../shared/providers/definitions/oidc.js';

const minimal: ProviderDefinitionInput = {
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
};

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

  it('builds the whole catalog and refuses duplicate ids', () => {
    const catalog = createProviderCatalog([{ id: 'acme_sso', displayName: 'Acme SSO', issuer: 'https://login.acme.example' }]);
    expect(catalog.providers.map((p) => p.id)).toEqual(expect.arrayContaining(['slack', 'google', 'microsoft', 'notion', 'salesforce', 'hubspot', 'dropbox', 'asana', 'github', 'github_app', 'atlassian', 'zoom', 'trello', 'smart_on_fhir', 'acme_sso']));
    expect(() => createProviderCatalog([{ id: 'slack', displayName: 'x', issuer: 'https://x.example' }])).toThrow(expect.objectContaining({ code: 'misconfigured' }));
    expect(() => defineOidcProvider({ id: 'bad', displayName: 'Bad', issuer: 'http://x.example' })).toThrow();
  });
});
