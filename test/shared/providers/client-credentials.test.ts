// App-only tokens (client credentials) for the providers that offer them, against the sandbox through shared/oauth.
import { describe, expect, it } from 'vitest';
import { clientCredentialsGrant } from '../../../shared/oauth/grants.js';
import { fetchIdentity } from '../../../shared/oauth/identity.js';
import { parseAppOnlyConnectionConfig } from '../../../shared/providers/connection-config.js';
import { SALESFORCE_MY_DOMAIN } from '../../../local/provider-sandbox/profiles.js';
import { useProviderSandbox } from './sandbox-harness.js';

const h = useProviderSandbox();
const TENANT = '3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b';

describe('Microsoft identity platform client credentials', () => {
  const microsoft = h.catalog.resolve('microsoft');

  it('gets a Graph app-only token for one tenant, with the tenant as the account, and counts one grant', async () => {
    const credentials = h.client('microsoft');
    const connectionConfig = parseAppOnlyConnectionConfig(microsoft, { tenant: TENANT.toUpperCase() });
    const grant = await clientCredentialsGrant(h.runtime, microsoft, { client: credentials, scopes: [], connectionConfig });
    expect(grant).toMatchObject({
      providerAccountId: TENANT,
      metadata: { tenantId: TENANT },
      scopes: ['https://graph.microsoft.com/.default'],
      expirySource: 'provider',
      tokenType: 'Bearer',
    });
    expect(grant.refreshToken).toBeUndefined();
    expect(grant.expiresAtMs).toBeGreaterThan(Date.now());
    expect(h.sandbox.issuedSecrets()).toContain(grant.accessToken);
    expect(h.sandbox.callCounts()).toEqual({ 'microsoft.client_credentials': 1 });
  });

  it('refuses common, organizations and consumers before calling Microsoft', async () => {
    const credentials = h.client('microsoft');
    for (const tenant of ['common', 'organizations', 'consumers', 'contoso.onmicrosoft.com']) {
      expect(() => parseAppOnlyConnectionConfig(microsoft, { tenant })).toThrow(expect.objectContaining({ code: 'invalid_connection_config' }));
      await expect(clientCredentialsGrant(h.runtime, microsoft, { client: credentials, scopes: [], connectionConfig: { tenant } })).rejects.toMatchObject({
        code: 'invalid_connection_config',
      });
    }
    expect(h.sandbox.callCounts()).toEqual({});
  });

  it('refuses delegated scopes for an app-only token', async () => {
    await expect(
      clientCredentialsGrant(h.runtime, microsoft, { client: h.client('microsoft'), scopes: ['Mail.Read'], connectionConfig: { tenant: TENANT } }),
    ).rejects.toMatchObject({ code: 'invalid_scope' });
  });

  it('maps a wrong client secret to provider_error and a 503 to provider_unavailable', async () => {
    h.client('microsoft');
    const wrong = clientCredentialsGrant(h.runtime, microsoft, { client: { clientId: 'microsoft-client', clientSecret: 'not-the-secret' }, scopes: [], connectionConfig: { tenant: TENANT } });
    await expect(wrong).rejects.toMatchObject({ code: 'provider_error', details: { operation: 'client_credentials' } });
    h.sandbox.failNext('microsoft', 'client_credentials', { kind: 'status', status: 503 });
    const down = clientCredentialsGrant(h.runtime, microsoft, { client: h.client('microsoft'), scopes: [], connectionConfig: { tenant: TENANT } });
    await expect(down).rejects.toMatchObject({ code: 'provider_unavailable' });
  });
});

describe('Salesforce client credentials', () => {
  const salesforce = h.catalog.resolve('salesforce');

  it('gets an app-only token on the org\'s My Domain, naming the org and run-as user, and identifies with it', async () => {
    const credentials = h.client('salesforce');
    const connectionConfig = parseAppOnlyConnectionConfig(salesforce, { loginHost: SALESFORCE_MY_DOMAIN });
    const grant = await clientCredentialsGrant(h.runtime, salesforce, { client: credentials, scopes: [], connectionConfig });
    expect(grant.providerAccountId).toMatch(/^00D[0-9a-f]{12}AAA\/005[0-9a-f]{15}$/);
    expect(grant.metadata).toMatchObject({ instanceUrl: `https://${SALESFORCE_MY_DOMAIN}` });
    // No expires_in from Salesforce: the definition's assumed lifetime applies.
    expect(grant.expirySource).toBe('assumed');
    expect(grant.refreshToken).toBeUndefined();
    const identity = await fetchIdentity(h.runtime, salesforce, { accessToken: grant.accessToken, connectionConfig, metadata: grant.metadata });
    expect(identity.accountId).toBe(grant.providerAccountId);
  });

  it('refuses login.salesforce.com and test.salesforce.com for app-only connections', async () => {
    for (const loginHost of ['login.salesforce.com', 'test.salesforce.com']) {
      expect(() => parseAppOnlyConnectionConfig(salesforce, { loginHost })).toThrow(expect.objectContaining({ code: 'invalid_connection_config' }));
    }
    expect(() => parseAppOnlyConnectionConfig(salesforce, { loginHost: SALESFORCE_MY_DOMAIN })).not.toThrow();
  });

  it('takes no scopes: permissions come from the app\'s policies', async () => {
    const grant = clientCredentialsGrant(h.runtime, salesforce, { client: h.client('salesforce'), scopes: ['api'], connectionConfig: { loginHost: SALESFORCE_MY_DOMAIN } });
    await expect(grant).rejects.toMatchObject({ code: 'invalid_scope' });
  });
});

describe('providers without app-only tokens', () => {
  it.each(['slack', 'google', 'zoom', 'hubspot'])('%s refuses a client credentials grant without calling anyone', async (id) => {
    const provider = h.catalog.resolve(id);
    await expect(clientCredentialsGrant(h.runtime, provider, { client: h.client(id), scopes: [], connectionConfig: {} })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(h.sandbox.callCounts()).toEqual({});
  });

  it('lists exactly the providers whose definitions declare client credentials', () => {
    expect(h.catalog.providers.filter((p) => p.clientCredentials !== undefined).map((p) => p.id).sort()).toEqual(['microsoft', 'salesforce']);
  });
});
