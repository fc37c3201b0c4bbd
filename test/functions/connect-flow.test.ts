// The connect flow end to end through the authorize and callback functions: every catalog provider, and each way it can fail.
import { Timestamp } from '@google-cloud/firestore';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { builtInProviders } from '../../shared/providers/registry.js';
import { openCredentials } from '../../shared/store/connection-credentials.js';
import { connectionDocumentSchema } from '../../shared/store/connection-document.js';
import { SMART_BASE } from '../../local/provider-sandbox/profiles.js';
import { type ConnectHarness, CookieJar, startConnectHarness } from './connect-harness.js';
import {
  allConnections,
  allFlows,
  authorize,
  connectThroughBrowser,
  connectUrlFor,
  consentAtProvider,
  finishAtCallback,
  get,
  openStart,
} from './connect-flow-support.js';

let harness: ConnectHarness;

beforeAll(async () => {
  harness = await startConnectHarness('connect-flow');
});
afterAll(async () => {
  await harness?.stop();
});

async function clearData(): Promise<void> {
  harness.sandbox.resetCalls();
  for (const collection of await harness.firestore.listCollections()) {
    await harness.firestore.recursiveDelete(collection);
  }
}

const accounts: Record<string, { accountId: string; config?: Record<string, string>; scopes?: string[] }> = {
  slack: { accountId: 'T616C6963', scopes: ['chat:write'] },
  google: { accountId: 'g-alice', scopes: ['https://www.googleapis.com/auth/gmail.readonly'] },
  microsoft: { accountId: 'ms-alice', scopes: ['Mail.Read'] },
  notion: { accountId: 'bot-alice' },
  salesforce: { accountId: '00D000000000001AAA/005616c69636500000' },
  hubspot: { accountId: '4242', scopes: ['crm.objects.contacts.read'] },
  dropbox: { accountId: 'dbid:alice' },
  asana: { accountId: 'gid-alice' },
  github: { accountId: '1005', scopes: ['repo'] },
  github_app: { accountId: '1005' },
  atlassian: { accountId: 'acc-alice' },
  zoom: { accountId: 'zoom-alice' },
  trello: { accountId: 'member-alice' },
  smart_on_fhir: { accountId: 'Practitioner/alice', config: { fhirBaseUrl: SMART_BASE } },
};

/** Every value a leak would be: what the sandbox issued, plus what the browser and the flow carried. */
const secretsSeen = new Set<string>();

function remember(end: { callbackUrl: URL; jar: CookieJar; connectUrl: string }): void {
  for (const name of ['state', 'code', 'oauth_token', 'oauth_verifier']) {
    const value = end.callbackUrl.searchParams.get(name);
    if (value) secretsSeen.add(value);
  }
  secretsSeen.add(new URL(end.connectUrl).searchParams.get('flow') as string);
  for (const value of end.jar.values()) secretsSeen.add(value);
}

describe('a full connect', () => {
  it('covers every provider of the catalog', () => {
    expect(Object.keys(accounts).sort()).toEqual(builtInProviders.map((provider) => provider.id).sort());
  });

  describe.each(builtInProviders.map((provider) => provider.id))('%s', (providerId) => {
    it('ends on the return URL with the connection id, and stores the connection sealed', async () => {
      const expected = accounts[providerId] as (typeof accounts)[string];
      const end = await connectThroughBrowser(harness, {
        provider: providerId,
        ...(expected.scopes ? { scopes: expected.scopes } : {}),
        ...(expected.config ? { connectionConfig: expected.config } : {}),
      });
      remember(end);
      expect(end.response.status).toBe(303);
      const location = end.location as URL;
      expect(`${location.origin}${location.pathname}`).toBe(harness.returnUrl);
      expect(location.searchParams.get('outcome')).toBe('connected');
      const connectionId = location.searchParams.get('connection_id') as string;
      expect(connectionId).toMatch(/^conn_[0-9a-f]{30}$/);
      expect([...location.searchParams.keys()].sort()).toEqual(['connection_id', 'outcome']);

      const snapshot = await harness.firestore.collection('connections').doc(connectionId).get();
      const document = connectionDocumentSchema.parse(snapshot.data());
      expect(document).toMatchObject({ tenantId: 'tenant-a', userId: 'user-1', provider: providerId, status: 'active' });
      expect(document.providerAccountId).toBe(expected.accountId);
      for (const scope of expected.scopes ?? []) expect(document.scopes).toContain(scope);
      // The sealed credentials open, for this connection only, to the token the provider issued.
      const credentials = await openCredentials(harness.vault, document.credentials as NonNullable<typeof document.credentials>, {
        connectionId,
        tenantId: 'tenant-a',
      });
      expect(harness.sandbox.issuedSecrets()).toContain(credentials.accessToken);
      // The flow is spent: nothing that could finish it again is left in it.
      const flows = await allFlows(harness);
      const flow = flows.find((each) => each.data.provider === providerId && each.data.consumedAtMs !== null);
      expect(flow?.data.secrets).toBeNull();
      // The browser's binding cookie is cleared once the flow ends.
      expect(end.jar.values()).toEqual([]);
    });
  });

  it('leaves no token, code, state, verifier, cookie or client secret in clear text anywhere in Firestore', async () => {
    const needles = [...harness.sandbox.issuedSecrets(), ...secretsSeen, ...harness.clientSecrets];
    expect(needles.length).toBeGreaterThan(50);
    let documents = 0;
    const haystack: string[] = [];
    for (const collection of await harness.firestore.listCollections()) {
      for (const doc of (await collection.get()).docs) {
        documents += 1;
        haystack.push(
          doc.id,
          JSON.stringify(doc.data(), (_key, value: unknown) =>
            value instanceof Uint8Array ? `${Buffer.from(value).toString('utf8')}|${Buffer.from(value).toString('base64')}` : value,
          ),
        );
      }
    }
    expect(documents).toBeGreaterThanOrEqual(builtInProviders.length * 2);
    const text = haystack.join('\n');
    const leaked = needles.filter((needle) => text.includes(needle));
    expect(leaked).toEqual([]);
  });
});

describe('reconnecting', () => {
  beforeEach(clearData);

  it('updates the same connection for the same account, and adds one for a second Slack workspace', async () => {
    const first = await connectThroughBrowser(harness, { provider: 'slack', scopes: ['chat:write'] });
    const again = await connectThroughBrowser(harness, { provider: 'slack', scopes: ['chat:write'] });
    const firstId = first.location?.searchParams.get('connection_id');
    expect(again.location?.searchParams.get('connection_id')).toBe(firstId);
    expect(await allConnections(harness)).toHaveLength(1);
    const other = await connectThroughBrowser(harness, { provider: 'slack', scopes: ['chat:write'] }, { account: 'bob' });
    expect(other.location?.searchParams.get('outcome')).toBe('connected');
    expect(other.location?.searchParams.get('connection_id')).not.toBe(firstId);
    expect(await allConnections(harness)).toHaveLength(2);
  });

  it('adds scopes to an existing connection (incremental authorization) and keeps the old ones', async () => {
    const gmail = 'https://www.googleapis.com/auth/gmail.readonly';
    const calendar = 'https://www.googleapis.com/auth/calendar.readonly';
    const first = await connectThroughBrowser(harness, { provider: 'google', scopes: [gmail] });
    const connectUrl = await connectUrlFor(harness, { provider: 'google', scopes: [calendar] });
    const jar = new CookieJar();
    const providerUrl = await openStart(harness, connectUrl, jar);
    const asked = (providerUrl.searchParams.get('scope') ?? '').split(' ');
    expect(asked).toEqual(expect.arrayContaining([gmail, calendar]));
    expect(providerUrl.searchParams.get('include_granted_scopes')).toBe('true');
    const end = await finishAtCallback(await consentAtProvider(harness, providerUrl), jar);
    expect(end.location?.searchParams.get('connection_id')).toBe(first.location?.searchParams.get('connection_id'));
    const [connection] = await allConnections(harness);
    expect(connection?.data.scopes).toEqual(expect.arrayContaining([gmail, calendar]));
    const events = (await harness.firestore.collection('connectionEvents').get()).docs.map((doc) => doc.data().type as string);
    expect(events.sort()).toEqual(['connection.created', 'connection.scopes_changed']);
  });
});

describe('a flow that does not end in a connection', () => {
  beforeEach(clearData);

  async function expectNoConnection(): Promise<void> {
    expect(await allConnections(harness)).toEqual([]);
  }

  it('sends a user who denies back with outcome=denied', async () => {
    const end = await connectThroughBrowser(harness, { provider: 'google' }, { decision: 'deny' });
    expect(end.response.status).toBe(303);
    expect(end.location?.searchParams.get('outcome')).toBe('denied');
    expect(end.location?.searchParams.get('error')).toBe('access_denied');
    await expectNoConnection();
  });

  it('sends a Trello user who denies back with outcome=denied (OAuth 1.0a)', async () => {
    const end = await connectThroughBrowser(harness, { provider: 'trello' }, { decision: 'deny' });
    expect(end.location?.searchParams.get('outcome')).toBe('denied');
    await expectNoConnection();
  });

  it('refuses an expired flow, back on the return URL', async () => {
    const jar = new CookieJar();
    const providerUrl = await openStart(harness, await connectUrlFor(harness, { provider: 'slack' }), jar);
    const back = await consentAtProvider(harness, providerUrl);
    const [flow] = await allFlows(harness);
    await flow?.ref.update({ expiresAt: Timestamp.fromMillis(Date.now() - 1000) });
    const end = await finishAtCallback(back, jar);
    expect(end.response.status).toBe(303);
    expect(Object.fromEntries(end.location?.searchParams ?? [])).toEqual({ outcome: 'failed', error: 'flow_expired' });
    expect(harness.sandbox.calls('slack', 'token')).toBe(0);
    await expectNoConnection();
  });

  it('refuses an expired start link with an error page', async () => {
    const connectUrl = await connectUrlFor(harness, { provider: 'slack' });
    const [flow] = await allFlows(harness);
    await flow?.ref.update({ expiresAt: Timestamp.fromMillis(Date.now() - 1000) });
    const response = await get(connectUrl, new CookieJar());
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('flow_expired');
  });

  it('refuses a replayed callback, leaving the connection as it was', async () => {
    const jar = new CookieJar();
    const providerUrl = await openStart(harness, await connectUrlFor(harness, { provider: 'slack' }), jar);
    const back = await consentAtProvider(harness, providerUrl);
    const cookie = jar.header() as string;
    const end = await finishAtCallback(back, jar);
    expect(end.location?.searchParams.get('outcome')).toBe('connected');
    const [before] = await allConnections(harness);
    // The same browser replaying (cookie kept) learns the flow was used; no second exchange happens.
    harness.sandbox.resetCalls();
    const replay = await fetch(back.href, { redirect: 'manual', headers: { cookie } });
    expect(replay.status).toBe(303);
    expect(Object.fromEntries(new URL(replay.headers.get('location') as string).searchParams)).toEqual({
      outcome: 'failed',
      error: 'flow_already_used',
    });
    // Anyone else replaying it gets the plain page.
    const foreign = await fetch(back.href, { redirect: 'manual' });
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toContain('flow_browser_mismatch');
    expect(harness.sandbox.calls('slack', 'token')).toBe(0);
    expect(await allConnections(harness)).toEqual([before]);
  });

  it('refuses a callback without the browser cookie, and the browser that started the flow can still finish', async () => {
    const jar = new CookieJar();
    const providerUrl = await openStart(harness, await connectUrlFor(harness, { provider: 'hubspot' }), jar);
    const back = await consentAtProvider(harness, providerUrl);
    const elsewhere = await fetch(back.href, { redirect: 'manual' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.get('content-type')).toContain('text/html');
    expect(await elsewhere.text()).toContain('flow_browser_mismatch');
    await expectNoConnection();
    const wrongCookie = await fetch(back.href, {
      redirect: 'manual',
      headers: { cookie: (jar.header() as string).replace(/=.*/, '=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA') },
    });
    expect(wrongCookie.status).toBe(400);
    await expectNoConnection();
    const end = await finishAtCallback(back, jar);
    expect(end.location?.searchParams.get('outcome')).toBe('connected');
  });

  it('lets the browser that opened a start link reload it while the flow is open', async () => {
    const connectUrl = await connectUrlFor(harness, { provider: 'slack' });
    const jar = new CookieJar();
    const first = await openStart(harness, connectUrl, jar);
    const again = await openStart(harness, connectUrl, jar);
    expect(again.href).toBe(first.href);
    const end = await finishAtCallback(await consentAtProvider(harness, again), jar);
    expect(end.location?.searchParams.get('outcome')).toBe('connected');
  });

  it('refuses a start link opened by a second browser', async () => {
    const connectUrl = await connectUrlFor(harness, { provider: 'slack' });
    await openStart(harness, connectUrl, new CookieJar());
    const second = await get(connectUrl, new CookieJar());
    expect(second.status).toBe(400);
    expect(await second.text()).toContain('flow_already_used');
  });

  it('shows an error page for a tampered state', async () => {
    const jar = new CookieJar();
    const back = await consentAtProvider(harness, await openStart(harness, await connectUrlFor(harness, { provider: 'slack' }), jar));
    const tampered = new URL(back);
    const state = tampered.searchParams.get('state') as string;
    tampered.searchParams.set('state', `${state.slice(0, -2)}${state.endsWith('A') ? 'BB' : 'AA'}`);
    const end = await finishAtCallback(tampered, jar);
    expect(end.response.status).toBe(400);
    expect(end.location).toBeUndefined();
    expect(await end.response.text()).toContain('flow_not_found');
    expect(harness.sandbox.calls('slack', 'token')).toBe(0);
    await expectNoConnection();
  });

  it('refuses a response from the wrong issuer (RFC 9207)', async () => {
    const jar = new CookieJar();
    const back = await consentAtProvider(harness, await openStart(harness, await connectUrlFor(harness, { provider: 'google' }), jar));
    expect(back.searchParams.get('iss')).toBe('https://accounts.google.com');
    back.searchParams.set('iss', 'https://attacker.example');
    const end = await finishAtCallback(back, jar);
    expect(Object.fromEntries(end.location?.searchParams ?? [])).toEqual({ outcome: 'failed', error: 'issuer_mismatch' });
    expect(harness.sandbox.calls('google', 'token')).toBe(0);
    await expectNoConnection();
  });

  it('reports a provider 500 during the code exchange', async () => {
    harness.sandbox.failNext('slack', 'token', { kind: 'status', status: 500 });
    const end = await connectThroughBrowser(harness, { provider: 'slack' });
    expect(end.response.status).toBe(303);
    expect(Object.fromEntries(end.location?.searchParams ?? [])).toEqual({ outcome: 'failed', error: 'provider_unavailable' });
    await expectNoConnection();
  });

  it('answers callback pages without caching, referrers or third-party content', async () => {
    const page = await fetch(`${harness.callbackUrl}?state=${'x'.repeat(43)}&code=abc`, { redirect: 'manual' });
    expect(page.status).toBe(400);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/at .*\.ts:\d+/);
  });

  it('binds with a __Host- cookie that is Secure, HttpOnly, SameSite=Lax and on path /', async () => {
    const response = await get(await connectUrlFor(harness, { provider: 'slack' }));
    const [cookie] = response.headers.getSetCookie();
    expect(cookie).toMatch(/^__Host-broker-flow-[0-9a-f]{16}=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('; Secure');
    expect(cookie).toContain('; HttpOnly');
    expect(cookie).toContain('; SameSite=Lax');
    expect(cookie).toContain('; Path=/');
    expect(cookie).not.toMatch(/domain=/i);
  });
});

describe('authorize refuses', () => {
  beforeEach(clearData);

  async function expectProblem(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(status);
    expect(body.code).toBe(code);
    expect(await allFlows(harness)).toEqual([]);
    return body;
  }

  it('a return URL off the allowlist, even one that only extends an allowed URL', async () => {
    await expectProblem(await authorize(harness, { provider: 'slack', returnUrl: 'https://evil.example/steal' }), 400, 'invalid_return_url');
    await expectProblem(
      await authorize(harness, { provider: 'slack', returnUrl: `${harness.returnUrl}?next=https://evil.example` }),
      400,
      'invalid_return_url',
    );
  });

  it('an unknown provider', async () => {
    await expectProblem(await authorize(harness, { provider: 'myspace' }), 400, 'unknown_provider');
  });

  it('scopes the provider does not offer, naming them', async () => {
    const body = await expectProblem(await authorize(harness, { provider: 'google', scopes: ['https://evil.example/all'] }), 400, 'invalid_scope');
    expect(JSON.stringify(body)).toContain('https://evil.example/all');
  });

  it('an invalid per-connection config', async () => {
    await expectProblem(
      await authorize(harness, { provider: 'smart_on_fhir', connectionConfig: { fhirBaseUrl: 'not a url' } }),
      400,
      'invalid_connection_config',
    );
  });

  it('a caller without a verified ID token, or one the policy does not allow', async () => {
    await expectProblem(await authorize(harness, { provider: 'slack' }, 'not-a-token'), 401, 'unauthenticated');
    const other = await harness.idToken('other-backend@connect-test.iam.gserviceaccount.com');
    await expectProblem(await authorize(harness, { provider: 'google' }, other), 403, 'caller_not_allowed');
    await expectProblem(await authorize(harness, { provider: 'slack', tenantId: 'tenant-b' }), 403, 'caller_not_allowed');
  });

  it('a malformed body', async () => {
    const response = await fetch(`${harness.origin}/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await harness.idToken()}` },
      body: JSON.stringify({ provider: 'slack', tenantId: 'tenant-a', userId: 'u', returnUrl: harness.returnUrl, extra: true }),
    });
    await expectProblem(response, 400, 'invalid_request');
  });
});
