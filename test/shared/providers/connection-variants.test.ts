// Per-connection variants against the sandbox: Slack user tokens, Salesforce login hosts, Microsoft tenants.
import { describe, expect, it } from 'vitest';
import { refreshGrant } from '../../../shared/oauth/grants.js';
import { fetchIdentity } from '../../../shared/oauth/identity.js';
import { resolveEndpoints } from '../../../shared/oauth/resolved-endpoints.js';
import { revokeGrant } from '../../../shared/oauth/revocation.js';
import { processTokenEndpointReply } from '../../../shared/oauth/token-endpoint.js';
import { parseConnectionConfig } from '../../../shared/providers/connection-config.js';
import { MSA_TENANT_ID, SALESFORCE_MY_DOMAIN, sandboxMicrosoftTenantId } from '../../../local/provider-sandbox/profiles.js';
import { type Connected, useProviderSandbox } from './sandbox-harness.js';

const h = useProviderSandbox();

/** Refresh, identity with the fresh token, revoke, and the revoked token refused: the rest of every contract. */
async function refreshIdentifyRevoke({ provider, connectionConfig, credentials, grant }: Connected): Promise<void> {
  const refreshed = await refreshGrant(h.runtime, provider, { client: credentials, refreshToken: grant.refreshToken as string, scopes: grant.scopes, connectionConfig });
  expect(refreshed.accessToken).not.toBe(grant.accessToken);
  const identity = await fetchIdentity(h.runtime, provider, { accessToken: refreshed.accessToken, connectionConfig, metadata: grant.metadata, client: credentials });
  expect(identity.accountId).toBe(grant.providerAccountId);
  const outcome = await revokeGrant(h.runtime, provider, {
    client: credentials,
    accessToken: refreshed.accessToken,
    ...(refreshed.refreshToken ? { refreshToken: refreshed.refreshToken } : {}),
    connectionConfig,
  });
  if (outcome.outcome === 'revoked') {
    await expect(fetchIdentity(h.runtime, provider, { accessToken: refreshed.accessToken, connectionConfig, metadata: grant.metadata, client: credentials })).rejects.toMatchObject({
      code: 'needs_reauth',
    });
  }
}

describe('Slack user tokens', () => {
  it('asks with user_scope, takes the token from authed_user, and keeps the workspace as the account', async () => {
    const connected = await h.connect('slack', { config: { tokenKind: 'user' }, scopes: ['search:read', 'users:read'] });
    const query = connected.authorizationUrl.searchParams;
    expect(query.get('user_scope')).toBe('search:read,users:read');
    expect(query.has('scope')).toBe(false);
    const { grant } = connected;
    expect(grant).toMatchObject({
      providerAccountId: 'T616C6963',
      tokenType: 'user',
      scopes: ['search:read', 'users:read'],
      metadata: { tokenKind: 'user', authedUserId: 'U1', teamId: 'T616C6963' },
      expirySource: 'provider',
    });
    expect(grant.metadata.botUserId).toBeUndefined();
    expect(grant.refreshToken).toBeDefined();
    expect(h.sandbox.issuedSecrets()).toContain(grant.accessToken);
    await refreshIdentifyRevoke(connected);
  });

  it('keeps the user token when the app also holds a bot token', async () => {
    // A reply carrying both: the bot token at top level, the user token inside authed_user.
    const slack = h.catalog.resolve('slack');
    const reply = {
      status: 200,
      headers: new Headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({
        ok: true,
        access_token: 'xoxb-bot',
        token_type: 'bot',
        scope: 'chat:write',
        bot_user_id: 'UBOT',
        team: { id: 'T1', name: 'One' },
        authed_user: { id: 'U9', access_token: 'xoxp-user', token_type: 'user', scope: 'search:read' },
      }),
    };
    const connectionConfig = parseConnectionConfig(slack, { tokenKind: 'user' });
    const endpoints = await resolveEndpoints(h.runtime, slack, connectionConfig);
    const { tokens } = await processTokenEndpointReply(h.runtime, slack, reply, {
      grant: 'authorization_code',
      client: { clientId: 'c', clientSecret: 's' },
      endpoints,
      connectionConfig,
      requestedScopes: ['search:read'],
    });
    expect(tokens).toMatchObject({ accessToken: 'xoxp-user', tokenType: 'user', scopes: ['search:read'], metadata: { authedUserId: 'U9', tokenKind: 'user' } });
    const bot = await processTokenEndpointReply(h.runtime, slack, reply, {
      grant: 'authorization_code',
      client: { clientId: 'c', clientSecret: 's' },
      endpoints,
      connectionConfig: parseConnectionConfig(slack, {}),
      requestedScopes: ['chat:write'],
    });
    expect(bot.tokens).toMatchObject({ accessToken: 'xoxb-bot', tokenType: 'bot' });
  });
});

describe('Salesforce login hosts', () => {
  it.each([
    { loginHost: 'test.salesforce.com', instanceUrl: 'https://sandbox-org.my.salesforce.com' },
    { loginHost: SALESFORCE_MY_DOMAIN, instanceUrl: `https://${SALESFORCE_MY_DOMAIN}` },
    { loginHost: 'acme--uat.sandbox.my.salesforce.com', instanceUrl: 'https://acme--uat.sandbox.my.salesforce.com' },
  ])('runs the whole flow on $loginHost', async ({ loginHost, instanceUrl }) => {
    const connected = await h.connect('salesforce', { config: { loginHost } });
    expect(connected.authorizationUrl.host).toBe(loginHost);
    const { grant } = connected;
    expect(grant.metadata).toMatchObject({ instanceUrl });
    // Another login host is another org: the account id says so.
    expect(grant.providerAccountId).toMatch(/^00D[0-9A-Za-z]{15}\/005[0-9a-f]{15}$/);
    expect(grant.providerAccountId.startsWith('00D000000000001AAA/')).toBe(false);
    expect(grant.metadata.orgId).toBe(grant.providerAccountId.split('/')[0]);
    await refreshIdentifyRevoke(connected);
  });

  it('normalizes the host\'s case', () => {
    const salesforce = h.catalog.resolve('salesforce');
    expect(parseConnectionConfig(salesforce, { loginHost: 'ACME.My.Salesforce.com' })).toEqual({ loginHost: 'acme.my.salesforce.com' });
    expect(parseConnectionConfig(salesforce, {})).toEqual({ loginHost: 'login.salesforce.com' });
  });

  it.each([
    'evil.example.com',
    'login.salesforce.com.evil.example',
    'acme.my.salesforce.com.evil.example',
    'evilsalesforce.com',
    'my.salesforce.com',
    'acme.salesforce.com',
    'https://acme.my.salesforce.com',
    'acme.my.salesforce.com/services',
    'acme.my.salesforce.com:8443',
    'acme.my.salesforce.com?x=1',
    'login.salesforce.com ',
    '',
  ])('refuses the login host %j with invalid_connection_config, without echoing it', (loginHost) => {
    const salesforce = h.catalog.resolve('salesforce');
    let error: unknown;
    try {
      parseConnectionConfig(salesforce, { loginHost });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'invalid_connection_config', details: { provider: 'salesforce', fields: ['loginHost'] } });
    if (loginHost !== '') expect(JSON.stringify({ message: (error as Error).message, details: (error as { details?: unknown }).details })).not.toContain(loginHost);
  });

  it('refuses extra config fields', () => {
    expect(() => parseConnectionConfig(h.catalog.resolve('salesforce'), { loginHost: 'login.salesforce.com', instanceUrl: 'https://evil.example' })).toThrow(
      expect.objectContaining({ code: 'invalid_connection_config' }),
    );
  });
});

describe('Microsoft tenants', () => {
  const TENANT = '5b9c3a0e-1f2d-4e6a-9b8c-7d6e5f4a3b2c';

  it.each([
    { tenant: TENANT, tenantId: TENANT },
    { tenant: 'organizations', tenantId: sandboxMicrosoftTenantId('organizations', 'alice') },
    { tenant: 'consumers', tenantId: MSA_TENANT_ID },
  ])('connects through $tenant and records the token\'s tenant', async ({ tenant, tenantId }) => {
    const connected = await h.connect('microsoft', { config: { tenant }, scopes: ['Mail.Read'] });
    expect(connected.authorizationUrl.pathname).toBe(`/${tenant}/oauth2/v2.0/authorize`);
    expect(connected.grant.metadata).toEqual({ tenantId });
    expect(connected.grant.idTokenClaims).toMatchObject({ tid: tenantId, iss: `https://login.microsoftonline.com/${tenantId}/v2.0` });
    expect(connected.grant.providerAccountId).toBe('ms-alice');
    await refreshIdentifyRevoke(connected);
  });

  it.each([
    { tenant: TENANT, tid: '11111111-2222-4333-8444-555555555555', why: 'a tenant-id connection takes only that tenant' },
    { tenant: 'organizations', tid: MSA_TENANT_ID, why: 'organizations takes no personal account' },
    { tenant: 'consumers', tid: '11111111-2222-4333-8444-555555555555', why: 'consumers takes only personal accounts' },
  ])('refuses an id_token from another tenant: $why', async ({ tenant, tid }) => {
    const microsoft = h.catalog.resolve('microsoft');
    const connectionConfig = parseConnectionConfig(microsoft, { tenant });
    const nowS = Math.floor(Date.now() / 1000);
    const claims = { iss: `https://login.microsoftonline.com/${tid}/v2.0`, tid, aud: 'c', sub: 's', iat: nowS, exp: nowS + 3600, nonce: 'n' };
    const idToken = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
    const reply = {
      status: 200,
      headers: new Headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ access_token: 'at', token_type: 'Bearer', expires_in: 3600, id_token: idToken }),
    };
    const endpoints = await resolveEndpoints(h.runtime, microsoft, connectionConfig);
    const process = () =>
      processTokenEndpointReply(h.runtime, microsoft, reply, { grant: 'authorization_code', client: { clientId: 'c', clientSecret: 's' }, endpoints, connectionConfig, requestedScopes: [], nonce: 'n' });
    await expect(process()).rejects.toMatchObject({ code: 'issuer_mismatch' });
    // The same reply through common is the user's own tenant, recorded for the connection.
    const common = parseConnectionConfig(microsoft, {});
    const accepted = await processTokenEndpointReply(h.runtime, microsoft, reply, {
      grant: 'authorization_code',
      client: { clientId: 'c', clientSecret: 's' },
      endpoints: await resolveEndpoints(h.runtime, microsoft, common),
      connectionConfig: common,
      requestedScopes: [],
      nonce: 'n',
    });
    expect(accepted.tokens.metadata).toEqual({ tenantId: tid });
  });

  it('refuses tenant values that are not a tenant', () => {
    const microsoft = h.catalog.resolve('microsoft');
    for (const tenant of ['', 'common/../evil', 'https://evil.example', 'not a tenant', '5b9c3a0e1f2d4e6a9b8c7d6e5f4a3b2c']) {
      expect(() => parseConnectionConfig(microsoft, { tenant })).toThrow(expect.objectContaining({ code: 'invalid_connection_config' }));
    }
  });
});
