// The admin function: who gets in (IAP assertion or ID token, then the allowlist), every endpoint, every action audited, no secret ever in a response.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Timestamp } from '@google-cloud/firestore';
import { connectionDocumentSchema } from '../../shared/store/connection-document.js';
import { STATS_SNAPSHOT_RETENTION_DAYS, writeStatsSnapshot } from '../../shared/store/stats-snapshots.js';
import { cryptoIdSource } from '../../shared/time/ids.js';
import { setStoredExpiry, writeConnection } from '../support/connection-fixtures.js';
import { type AdminHarness, IAP_AUDIENCE, NOT_AN_OPERATOR, OPERATOR, startAdminHarness } from './admin-harness.js';

let h: AdminHarness;
/** Every response body this file received: scanned for secrets at the end. */
const seenBodies: string[] = [];

beforeAll(async () => {
  h = await startAdminHarness('admin-fn');
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(async () => {
  h.sandbox.resetCalls();
  for (const collection of await h.firestore.listCollections()) await h.firestore.recursiveDelete(collection);
});

interface Reply {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
}

async function call(method: 'GET' | 'POST', path: string, options: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Reply> {
  const headers = options.headers ?? (await h.iapHeaders());
  const response = await fetch(`${h.origin}/admin${path}`, {
    method,
    headers: { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: JSON.stringify(options.body ?? {}) } : {}),
  });
  const text = await response.text();
  seenBodies.push(text);
  return { status: response.status, json: JSON.parse(text) as Record<string, unknown>, headers: response.headers };
}

async function adminAudit(): Promise<{ actor: { type: string; id: string }; outcome: string; reason: string; connectionId: string | null }[]> {
  const snapshot = await h.firestore.collection('auditLog').where('action', '==', 'admin.action').get();
  return snapshot.docs.map((doc) => doc.data() as never);
}

async function storedConnection(connectionId: string) {
  const snapshot = await h.firestore.collection('connections').doc(connectionId).get();
  return connectionDocumentSchema.parse(snapshot.data());
}

describe('who may use it', () => {
  it('refuses a request with no credentials, and audits nothing (there is nobody to name)', async () => {
    const reply = await call('GET', '/api/stats', { headers: {} });
    expect(reply.status).toBe(401);
    expect(reply.json.code).toBe('unauthenticated');
    expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await adminAudit()).toEqual([]);
  });

  it('refuses forged, mis-addressed, foreign-issued, expired and unsigned IAP assertions', async () => {
    const iat = new Date(Date.now() - 3600_000);
    const cases = {
      forged: await h.iap.mint({ email: OPERATOR, audience: IAP_AUDIENCE, forged: true }),
      wrongAudience: await h.iap.mint({ email: OPERATOR, audience: '/projects/123456789012/global/backendServices/1' }),
      wrongIssuer: await h.iap.mint({ email: OPERATOR, audience: IAP_AUDIENCE, issuer: 'https://accounts.google.com' }),
      expired: await h.iap.mint({ email: OPERATOR, audience: IAP_AUDIENCE, issuedAt: iat }),
      algNone: `${(await h.iap.mint({ email: OPERATOR, audience: IAP_AUDIENCE, alg: 'none' })).split('.').slice(0, 2).join('.')}.`,
      notAJwt: 'not-a-jwt',
    };
    for (const [name, assertion] of Object.entries(cases)) {
      const reply = await call('GET', '/api/stats', { headers: { 'x-goog-iap-jwt-assertion': assertion } });
      expect(reply.status, name).toBe(401);
      expect(reply.json.code, name).toBe('unauthenticated');
    }
    expect(await adminAudit()).toEqual([]);
  });

  it('judges a request with an IAP header by that header alone: a valid ID token beside a forged assertion does not help', async () => {
    const forged = await h.iap.mint({ email: OPERATOR, audience: IAP_AUDIENCE, forged: true });
    const reply = await call('GET', '/api/stats', { headers: { ...(await h.bearerHeaders()), 'x-goog-iap-jwt-assertion': forged } });
    expect(reply.status).toBe(401);
  });

  it('refuses a verified identity that is not on the allowlist, through IAP or IAM, and audits the attempt', async () => {
    expect((await call('GET', '/api/stats', { headers: await h.iapHeaders(NOT_AN_OPERATOR) })).status).toBe(403);
    expect((await call('POST', '/api/connections/conn_000000000000000000000000000000/revoke', { headers: await h.bearerHeaders(NOT_AN_OPERATOR) })).status).toBe(403);
    const audit = await adminAudit();
    expect(audit).toHaveLength(2);
    expect(audit.every((entry) => entry.outcome === 'denied' && entry.actor.id === NOT_AN_OPERATOR && entry.actor.type === 'operator')).toBe(true);
  });

  it('refuses an ID token minted for another audience', async () => {
    const token = await h.idTokens.mint({ email: OPERATOR, audience: 'https://elsewhere.example/admin' });
    expect((await call('GET', '/api/stats', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it('lets an allowlisted operator in through IAP and through IAM (the allowlist ignores case), auditing each with their identity', async () => {
    expect((await call('GET', '/api/stats')).status).toBe(200);
    expect((await call('GET', '/api/stats', { headers: await h.bearerHeaders() })).status).toBe(200);
    const audit = await adminAudit();
    expect(audit.map((entry) => [entry.actor, entry.outcome, entry.reason])).toEqual([
      [{ type: 'operator', id: OPERATOR }, 'success', 'getStats'],
      [{ type: 'operator', id: OPERATOR }, 'success', 'getStats'],
    ]);
  });
});

describe('statistics', () => {
  it('counts connections by provider and status, and the health of the live ones', async () => {
    await h.connect('slack', { tenantId: 'tenant-a' });
    await h.connect('slack', { tenantId: 'tenant-b' });
    const google = await h.connect('google', {});
    await h.connect('notion', {});
    expect((await call('POST', `/api/connections/${google}/revoke`)).status).toBe(200);
    const { status, json } = await call('GET', '/api/stats');
    expect(status).toBe(200);
    expect(json).toMatchObject({
      total: 4,
      byStatus: { active: 3, revoked: 1, refreshing: 0, needs_reauth: 0, error: 0 },
      unlistedProviders: 0,
      health: { unknown: 3, healthy: 0, unhealthy: 0 },
    });
    const rows = json.byProvider as { provider: string; total: number; byStatus: Record<string, number> }[];
    expect(rows.map((row) => [row.provider, row.total, row.byStatus.active, row.byStatus.revoked]).sort()).toEqual([
      ['google', 1, 0, 1],
      ['notion', 1, 1, 0],
      ['slack', 2, 2, 0],
    ]);
  });
});

describe('listing and details', () => {
  it('filters by tenant, user, provider, status and health, and pages through everything with an opaque cursor', async () => {
    const ids = [
      await h.connect('slack', { tenantId: 'tenant-a', userId: 'u1', account: 'alice' }),
      await h.connect('slack', { tenantId: 'tenant-a', userId: 'u2', account: 'bob' }),
      await h.connect('google', { tenantId: 'tenant-a', userId: 'u1' }),
      await h.connect('notion', { tenantId: 'tenant-b', userId: 'u1' }),
      await h.connect('slack', { tenantId: 'tenant-b', userId: 'u3', account: 'carol' }),
    ];
    const listed = async (query: string) => {
      const reply = await call('GET', `/api/connections${query}`);
      expect(reply.status, JSON.stringify(reply.json)).toBe(200);
      return (reply.json.connections as { connectionId: string }[]).map((c) => c.connectionId).sort();
    };
    expect(await listed('?tenantId=tenant-a')).toEqual([ids[0], ids[1], ids[2]].sort());
    expect(await listed('?tenantId=tenant-a&provider=slack')).toEqual([ids[0], ids[1]].sort());
    expect(await listed('?userId=u1&provider=notion')).toEqual([ids[3]]);
    await call('POST', `/api/connections/${ids[4]}/revoke`);
    expect(await listed('?status=revoked')).toEqual([ids[4]]);
    expect(await listed('?health=unknown&tenantId=tenant-b&status=active')).toEqual([ids[3]]);
    expect(await listed('?health=healthy')).toEqual([]);

    const walked: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const reply: Reply = await call('GET', `/api/connections?limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      const page = reply.json.connections as { connectionId: string; createdAt: string }[];
      expect(page.length).toBeLessThanOrEqual(2);
      walked.push(...page.map((c) => c.connectionId));
      cursor = reply.json.nextCursor as string | null;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect([...walked].sort()).toEqual([...ids].sort());
    expect(new Set(walked).size).toBe(ids.length);
  });

  it('refuses unknown query parameters, bad filter values and cursors it did not issue', async () => {
    for (const query of ['?tenant=tenant-a', '?status=sleeping', '?limit=0', '?limit=1000', '?cursor=bm9wZQ']) {
      const reply = await call('GET', `/api/connections${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.json.code, query).toBe('invalid_request');
    }
  });

  it("shows one connection's state and its audit trail, newest first, without credentials", async () => {
    const id = await h.connect('slack', {});
    await call('POST', `/api/connections/${id}/revoke`);
    const { status, json } = await call('GET', `/api/connections/${id}`);
    expect(status).toBe(200);
    expect(json.connection).toMatchObject({ connectionId: id, provider: 'slack', status: 'revoked', hasCredentials: false, sealedWithKeyVersion: null });
    const audit = json.audit as { action: string; actor: { id: string }; reason: string }[];
    expect(audit.map((entry) => [entry.action, entry.reason])).toEqual([
      ['admin.action', 'revokeConnection:provider_revoked'],
      ['connection.revoked', 'revoked'],
    ]);
    expect(audit.every((entry) => entry.actor.id === OPERATOR)).toBe(true);
    expect(JSON.stringify(json)).not.toMatch(/credentials"|wrappedKey|ciphertext/);
  });

  it('answers 404 for an unknown connection and 400 for a malformed id, and audits both attempts', async () => {
    expect((await call('GET', '/api/connections/conn_0123456789abcdef0123456789abcd')).status).toBe(404);
    expect((await call('GET', '/api/connections/not-a-connection')).status).toBe(400);
    expect((await adminAudit()).map((entry) => [entry.outcome, entry.reason]).sort()).toEqual([
      ['failure', 'getConnection:invalid_request'],
      ['failure', 'getConnection:not_found'],
    ]);
  });
});

describe('actions', () => {
  it('revokes: provider revocation, credentials destroyed, event announced, audited as the operator; again is harmless', async () => {
    const id = await h.connect('slack', {});
    const sealedVersion = (await storedConnection(id)).credentials?.kmsKeyVersion;
    const { status, json } = await call('POST', `/api/connections/${id}/revoke`);
    expect(status).toBe(200);
    expect(json).toMatchObject({ connectionId: id, status: 'revoked', credentialsDestroyed: true, providerRevocation: { outcome: 'revoked' } });
    expect(sealedVersion).toMatch(/cryptoKeyVersions\/1$/);
    expect(h.sandbox.calls('slack', 'revoke')).toBe(1);
    expect(await storedConnection(id)).toMatchObject({ status: 'revoked', credentials: null });
    const events = (await h.firestore.collection('connectionEvents').get()).docs.map((doc) => doc.data().type as string);
    expect(events).toEqual(['connection.revoked']);
    const revokedEntry = (await h.firestore.collection('auditLog').where('action', '==', 'connection.revoked').get()).docs[0]?.data();
    expect(revokedEntry?.actor).toEqual({ type: 'operator', id: OPERATOR });

    const again = await call('POST', `/api/connections/${id}/revoke`);
    expect(again.json).toMatchObject({ providerRevocation: { outcome: 'already_revoked' } });
    expect(h.sandbox.calls('slack', 'revoke')).toBe(1);
  });

  it('refreshes one connection now through the refresh engine, and skips one whose token never expires', async () => {
    const google = await h.connect('google', {});
    const before = await storedConnection(google);
    const { status, json } = await call('POST', `/api/connections/${google}/refresh`);
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ connectionId: google, outcome: 'refreshed', reason: null });
    expect(h.sandbox.calls('google', 'refresh')).toBe(1);
    const after = await storedConnection(google);
    expect(after.refresh.lastRefreshAtMs).toEqual(expect.any(Number));
    expect(after.credentials?.ciphertext.equals(before.credentials?.ciphertext as Buffer)).toBe(false);
    const refreshedBy = (await h.firestore.collection('auditLog').where('action', '==', 'connection.refreshed').get()).docs[0]?.data();
    expect(refreshedBy?.actor).toEqual({ type: 'operator', id: OPERATOR });

    // A token that lives until revoked (the provider sent no expiry).
    const slack = await writeConnection(h.firestore, h.vault, {
      tenantId: 'tenant-a',
      userId: 'user-1',
      provider: 'slack',
      providerAccountId: 'T0001',
      credentials: { accessToken: 'xoxb-never-expires-0000000000' },
      expiresAtMs: null,
    });
    const skipped = await call('POST', `/api/connections/${slack}/refresh`);
    expect(skipped.json).toMatchObject({ outcome: 'skipped', reason: 'not_refreshable' });
    expect(h.sandbox.calls('slack', 'refresh')).toBe(0);
  });

  it('refuses actions that are not same-origin JSON, and methods a route does not take', async () => {
    const id = await h.connect('slack', {});
    const form = await fetch(`${h.origin}/admin/api/connections/${id}/revoke`, {
      method: 'POST',
      headers: { ...(await h.iapHeaders()), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'confirm=1',
    });
    expect(form.status).toBe(415);
    const crossSite = await fetch(`${h.origin}/admin/api/connections/${id}/revoke`, {
      method: 'POST',
      headers: { ...(await h.iapHeaders()), 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
      body: '{}',
    });
    expect(crossSite.status).toBe(403);
    expect((await call('GET', `/api/connections/${id}/revoke`)).status).toBe(405);
    expect((await call('POST', `/api/connections/${id}/revoke`, { body: { force: true } })).status).toBe(400);
    expect((await call('GET', '/api/nothing-here')).status).toBe(404);
    expect((await storedConnection(id)).status).toBe('active');
    expect(h.sandbox.calls('slack', 'revoke')).toBe(0);
  });
});

describe('sweeps from the dashboard', () => {
  it("checks one connection's health at the provider now and records it", async () => {
    const id = await h.connect('slack', {});
    h.sandbox.resetCalls();
    const { status, json } = await call('POST', `/api/connections/${id}/health-check`);
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ connectionId: id, outcome: 'healthy', reason: null, connection: { health: { status: 'healthy' } } });
    expect(h.sandbox.calls('slack', 'identity')).toBe(1);
    expect((await storedConnection(id)).health.status).toBe('healthy');
    expect((await adminAudit()).map((entry) => [entry.reason, entry.connectionId])).toEqual([['checkConnectionHealth:healthy', id]]);
  });

  it('checks every active connection now, even ones the schedule checked a moment ago', async () => {
    const ids = [await h.connect('slack', {}), await h.connect('google', {})];
    await call('POST', `/api/connections/${ids[0]}/health-check`);
    h.sandbox.resetCalls();
    const { status, json } = await call('POST', '/api/health-check');
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ ranIn: 'admin_function', schedulerJob: null, summary: { checked: 2, healthy: 2 } });
    expect(h.sandbox.calls('slack', 'identity') + h.sandbox.calls('google', 'identity')).toBe(2);
  });

  it('refreshes every connection about to expire with the refresh sweep, in this function when no Scheduler job is configured', async () => {
    const due = await h.connect('google', {});
    await h.connect('google', { userId: 'user-2', account: 'bob' });
    await setStoredExpiry(h.firestore, due, Date.now() + 60_000);
    const { status, json } = await call('POST', '/api/refresh');
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ ranIn: 'admin_function', schedulerJob: null, summary: { refreshed: 1 } });
    expect(h.sandbox.calls('google', 'refresh')).toBe(1);
    expect((await storedConnection(due)).refresh.lastRefreshAtMs).toEqual(expect.any(Number));
  });
});

describe('history over time', () => {
  const zeroStatuses = { active: 0, refreshing: 0, needs_reauth: 0, error: 0, revoked: 0 };

  it('says so when no sweep has run yet', async () => {
    const { status, json } = await call('GET', '/api/stats/history');
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ hours: 48, snapshots: [], truncated: false, unreadable: 0 });
    expect(Date.parse(json.to as string) - Date.parse(json.from as string)).toBe(48 * 3600_000);
  });

  it('keeps one snapshot per refresh and health sweep run, with its outcome counts and the connections by status after it', async () => {
    const dueOk = await h.connect('google', { userId: 'u1', account: 'ada' });
    const dueDead = await h.connect('google', { userId: 'u2', account: 'bob' });
    const revoked = await h.connect('slack', { userId: 'u3' });
    await h.connect('slack', { userId: 'u4', account: 'carol' });
    expect((await call('POST', `/api/connections/${revoked}/revoke`)).status).toBe(200);
    await setStoredExpiry(h.firestore, dueOk, Date.now() + 60_000);
    await setStoredExpiry(h.firestore, dueDead, Date.now() + 120_000);
    // Whichever due connection refreshes first meets a grant the provider calls dead.
    h.sandbox.failNext('google', 'refresh', { kind: 'invalid_grant' }, 1);

    const refresh = await call('POST', '/api/refresh');
    expect(refresh.json).toMatchObject({ ranIn: 'admin_function', summary: { refreshed: 1, 'failed.total': 1 } });
    const health = await call('POST', '/api/health-check');
    expect(health.status, JSON.stringify(health.json)).toBe(200);
    const checked = (health.json.summary as { checked: number }).checked;
    expect(checked).toBeGreaterThanOrEqual(2);

    const { status, json } = await call('GET', '/api/stats/history?hours=1');
    expect(status, JSON.stringify(json)).toBe(200);
    const snapshots = json.snapshots as { kind: string; at: string; byStatus: Record<string, number>; run: Record<string, unknown> }[];
    expect(snapshots.map((snapshot) => snapshot.kind)).toEqual(['refresh', 'health']);
    const [afterRefresh, afterHealth] = snapshots;
    expect(afterRefresh).toMatchObject({
      outcome: 'complete',
      byStatus: { ...zeroStatuses, active: 2, needs_reauth: 1, revoked: 1 },
      run: { refreshed: 1, failed: 1, skipped: 0, remaining: 0, failedByReason: { invalid_grant: 1 } },
    });
    expect(afterHealth).toMatchObject({
      outcome: 'complete',
      byStatus: { ...zeroStatuses, active: 2, needs_reauth: 1, revoked: 1 },
      run: { checked, healthy: checked, unhealthy: 0, needsReauth: 0, failed: 0, remaining: 0 },
    });
    expect(Date.parse(afterRefresh!.at)).toBeLessThanOrEqual(Date.parse(afterHealth!.at));
    expect(Date.parse(afterHealth!.at)).toBeLessThanOrEqual(Date.now());

    // Stored with a TTL field Firestore deletes them by, and nothing that is not a count.
    const stored = (await h.firestore.collection('statsSnapshots').get()).docs.map((doc) => doc.data());
    expect(stored).toHaveLength(2);
    for (const document of stored) {
      expect(document.expireAt).toBeInstanceOf(Timestamp);
      const retainedMs = (document.expireAt as Timestamp).toMillis() - (document.atMs as number);
      expect(retainedMs).toBe(STATS_SNAPSHOT_RETENTION_DAYS * 24 * 3600_000);
      expect(Object.keys(document).sort()).toEqual(['atMs', 'byStatus', 'durationMs', 'expireAt', 'kind', 'outcome', 'run']);
    }
    const storedText = JSON.stringify(stored);
    for (const secret of [...h.sandbox.issuedSecrets(), ...h.clientSecrets]) expect(storedText.includes(secret)).toBe(false);
    expect((await adminAudit()).filter((entry) => entry.reason === 'getStatsHistory')).toHaveLength(1);
  });

  it('serves only the snapshots inside the window asked for, oldest first', async () => {
    const now = Date.now();
    const snapshot = (hoursAgo: number, active: number) =>
      writeStatsSnapshot(
        h.firestore,
        {
          kind: 'refresh',
          atMs: now - hoursAgo * 3600_000,
          durationMs: 40,
          outcome: 'complete',
          byStatus: { ...zeroStatuses, active },
          run: { refreshed: active, failed: 0, skipped: 0, remaining: 0, failedByReason: {} },
        },
        cryptoIdSource,
      );
    await Promise.all([snapshot(0.5, 1), snapshot(5, 5), snapshot(30, 30), snapshot(100, 100)]);
    const actives = async (query: string) => {
      const reply = await call('GET', `/api/stats/history${query}`);
      expect(reply.status, JSON.stringify(reply.json)).toBe(200);
      return (reply.json.snapshots as { byStatus: { active: number } }[]).map((entry) => entry.byStatus.active);
    };
    expect(await actives('?hours=1')).toEqual([1]);
    expect(await actives('')).toEqual([30, 5, 1]);
    expect(await actives('?hours=720')).toEqual([100, 30, 5, 1]);
  });

  it('refuses an hours value outside 1-720 or not a whole number, and parameters it does not know, with invalid_request', async () => {
    for (const query of ['?hours=0', '?hours=721', '?hours=-5', '?hours=1.5', '?hours=abc', '?hours=', '?days=2']) {
      const reply = await call('GET', `/api/stats/history${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.json.code, query).toBe('invalid_request');
      expect(reply.headers.get('content-type'), query).toMatch(/^application\/problem\+json/);
    }
    expect((await adminAudit()).filter((entry) => entry.reason === 'getStatsHistory:invalid_request')).toHaveLength(7);
  });

  it('is for allowlisted operators only', async () => {
    expect((await call('GET', '/api/stats/history', { headers: {} })).status).toBe(401);
    const denied = await call('GET', '/api/stats/history', { headers: await h.iapHeaders(NOT_AN_OPERATOR) });
    expect(denied.status).toBe(403);
    expect(denied.json).not.toHaveProperty('snapshots');
    expect((await call('GET', '/api/stats/history', { headers: await h.bearerHeaders(NOT_AN_OPERATOR) })).status).toBe(403);
    expect((await adminAudit()).map((entry) => [entry.outcome, entry.actor.id])).toEqual([
      ['denied', NOT_AN_OPERATOR],
      ['denied', NOT_AN_OPERATOR],
    ]);
  });
});

describe('the OpenAPI document', () => {
  it('describes every operation, with the schemas the API validates with', async () => {
    const { status, json } = await call('GET', '/api/openapi.json');
    expect(status).toBe(200);
    expect(json.openapi).toBe('3.0.3');
    const paths = json.paths as Record<string, Record<string, { operationId: string; parameters: { name: string; in: string }[] }>>;
    expect(Object.keys(paths).sort()).toEqual([
      '/api/connections',
      '/api/connections/{connectionId}',
      '/api/connections/{connectionId}/health-check',
      '/api/connections/{connectionId}/refresh',
      '/api/connections/{connectionId}/revoke',
      '/api/health-check',
      '/api/refresh',
      '/api/rewrap',
      '/api/rewrap/{jobId}',
      '/api/stats',
      '/api/stats/history',
    ]);
    expect(paths['/api/stats/history']?.get?.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(['query:hours']);
    expect(JSON.stringify(paths['/api/stats/history'])).toContain('"maximum":720');
    expect(paths['/api/connections']?.get?.parameters.map((p) => `${p.in}:${p.name}`)).toEqual([
      'query:tenantId',
      'query:userId',
      'query:provider',
      'query:status',
      'query:health',
      'query:limit',
      'query:cursor',
    ]);
    const detail = JSON.stringify(paths['/api/connections/{connectionId}']);
    expect(detail).toContain('"additionalProperties":false');
    expect(detail).not.toMatch(/accessToken|refreshToken|wrappedKey/);
  });

  it('is for operators only', async () => {
    expect((await call('GET', '/api/openapi.json', { headers: {} })).status).toBe(401);
  });
});

describe('secrets', () => {
  it('never appear in any response this file received', async () => {
    // Exercise every read once more over live connections, then scan all bodies seen in this file.
    const ids = [await h.connect('slack', {}), await h.connect('google', {}), await h.connect('notion', {})];
    await call('POST', `/api/connections/${ids[1]}/refresh`);
    await call('GET', '/api/stats');
    await call('GET', '/api/connections?limit=200');
    for (const id of ids) await call('GET', `/api/connections/${id}`);
    await call('POST', `/api/connections/${ids[0]}/revoke`);
    const secrets = [...h.sandbox.issuedSecrets(), ...h.clientSecrets];
    expect(secrets.length).toBeGreaterThan(5);
    expect(seenBodies.length).toBeGreaterThan(40);
    for (const body of seenBodies) {
      for (const secret of secrets) expect(body.includes(secret), 'a response contained a secret').toBe(false);
    }
  });
});
