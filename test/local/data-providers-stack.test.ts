// Providers defined as data only, connected through the sandbox over the broker's HTTP functions: one added through
// OAUTH2_PROVIDERS alone (no code, no catalog file), and every provider of the catalog folder. The sandbox plays each
// from its definition: client authentication, formats, PKCE, rotation, revocation, identity by JSON pointer.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalStack, localIdentities, startLocalStack } from '../../local/local-stack.js';
import { catalogProviders } from '../../shared/providers/registry.js';
import { createStackHttp, sandboxApproves, type StackHttp } from '../support/stack-http.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tenantId = localIdentities.demoTenant;

/** A provider nobody wrote code for: JSON in an environment variable, as an operator would set it. */
const acmeCrm = {
  id: 'acme_crm',
  displayName: 'Acme CRM',
  authorizationUrl: 'https://login.acme-crm.example/oauth/authorize',
  tokenUrl: 'https://login.acme-crm.example/oauth/token',
  scopes: { separator: ',', defaults: ['contacts.read'], allowed: ['contacts.read', 'contacts.write', 'deals.read'] },
  pkce: { method: 'S256', required: true },
  clientAuthentication: 'client_secret_basic',
  tokenRequest: { bodyFormat: 'json', extraParams: { audience: 'crm-api' } },
  authorizationParams: { access_type: 'offline' },
  offlineAccess: { promptConsent: false },
  refresh: { supported: true, rotates: 'always', deadGrantErrors: ['invalid_grant', 'token_expired'] },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 1800 },
  revocation: { kind: 'rfc7009', url: 'https://login.acme-crm.example/oauth/revoke', clientAuthentication: 'client_secret_basic' },
  identity: { url: 'https://api.acme-crm.example/v2/users/me', accountId: '/data/user/id', displayName: '/data/user/full_name', email: '/data/user/email' },
};

describe('plain OAuth 2.0 providers defined as data, connected through the sandbox over HTTP', () => {
  let stateDir = '';
  let stack: LocalStack;
  let http: StackHttp;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'broker-data-providers-'));
    stack = await startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      projectId: `data-providers-${process.pid}`,
      env: {
        FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'),
        PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'),
        SWEEP_INTERVAL_SECONDS: '3600',
        OAUTH2_PROVIDERS: JSON.stringify([acmeCrm]),
      },
    });
    http = await createStackHttp(stack, stateDir, tenantId);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  async function listConnections(userId: string): Promise<Record<string, unknown>[]> {
    const query = new URLSearchParams({ tenantId, userId });
    const response = await fetch(`${stack.description.functionsOrigin}/connections/?${query}`, {
      headers: { authorization: `Bearer ${await http.mint(stack.description.demoCaller, 'connections')}` },
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { connections: Record<string, unknown>[] }).connections;
  }

  it('connects a provider added through OAUTH2_PROVIDERS only, refreshes with rotation, and revokes on disconnect', async () => {
    stack.sandbox.resetCalls();
    // Tokens that live 10 minutes, so a read asking for 30 makes the broker refresh.
    stack.sandbox.configure('acme_crm', { tokenLifetimeSeconds: 600 });
    let authorization: URL | undefined;
    const end = await http.connectInBrowser('acme_crm', 'alice', async (url) => {
      authorization = new URL(url);
      return sandboxApproves(stack)(url);
    });
    expect(authorization?.searchParams.get('scope')).toBe('contacts.read');
    expect(authorization?.searchParams.get('access_type')).toBe('offline');
    expect(authorization?.searchParams.get('code_challenge_method')).toBe('S256');
    const confirmed = await http.confirmAsProduct(end, 'alice');
    expect(confirmed.outcome).toBe('connected');
    const [listed] = await listConnections('alice');
    // The account from the identity reply, read where the JSON pointers say.
    expect(listed).toMatchObject({ provider: 'acme_crm', accountId: 'acme_crm-alice', displayName: 'Sandbox user alice', status: 'active' });

    const first = await http.readToken({ userId: 'alice', provider: 'acme_crm' });
    const refreshed = await http.readToken({ userId: 'alice', provider: 'acme_crm', minValiditySeconds: 1800 });
    expect(stack.sandbox.calls('acme_crm', 'refresh')).toBe(1);
    expect(refreshed.accessToken).not.toBe(first.accessToken);

    const disconnected = await http.call('connections', '/disconnect', { tenantId, connectionId: confirmed.connectionId });
    expect(await disconnected.json()).toMatchObject({ status: 'revoked', providerRevocation: { outcome: 'revoked' } });
    expect(stack.sandbox.calls('acme_crm', 'revoke')).toBe(1);
    expect(stack.sandbox.revokedGrants('acme_crm')).toEqual(['alice']);
  });

  it('refuses scopes the definition does not allow, before any provider call', async () => {
    const response = await http.call('authorize', '', { tenantId, userId: 'alice', provider: 'acme_crm', scopes: ['admin'], returnUrl: stack.description.returnUrl });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'invalid_scope' });
  });

  it.each(catalogProviders.map((provider) => provider.id))('connects the catalog provider %s, reads its token and disconnects', async (provider) => {
    stack.sandbox.resetCalls();
    const end = await http.connectInBrowser(provider, 'bob', sandboxApproves(stack));
    const confirmed = await http.confirmAsProduct(end, 'bob');
    expect(confirmed.outcome).toBe('connected');
    const token = await http.readToken({ userId: 'bob', provider });
    expect(token.connectionId).toBe(confirmed.connectionId);
    const disconnected = await http.call('connections', '/disconnect', { tenantId, connectionId: confirmed.connectionId });
    const definition = catalogProviders.find((candidate) => candidate.id === provider);
    const revocation = definition?.revocation.kind === 'none' ? 'not_supported' : 'revoked';
    expect(await disconnected.json()).toMatchObject({ status: 'revoked', providerRevocation: { outcome: revocation } });
  });
});
