// The operator CLI against the real admin function (Functions Framework, Firestore emulator, KMS stand-in,
// provider sandbox): each command's human and --json output, confirmation rules, exit codes, and no secret printed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GoogleAuth } from 'google-auth-library';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AdminHarness, NOT_AN_OPERATOR, OPERATOR, startAdminHarness } from '../functions/admin-harness.js';
import { type MetadataServer, startMetadataServer } from '../../local/metadata-server.js';
import { writeBulkConnections } from './bulk-connections.js';
import { type CliRun, type CliRunOptions, runCliInProcess } from './cli-runner.js';

let h: AdminHarness;
let url: string;
/** Everything the CLI printed in this file: scanned for secrets at the end. */
const printed: string[] = [];
const bulkSecrets: string[] = [];

beforeAll(async () => {
  h = await startAdminHarness('cli-admin');
  url = `${h.origin}/admin`;
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(async () => {
  for (const collection of await h.firestore.listCollections()) await h.firestore.recursiveDelete(collection);
});

async function cli(argv: readonly string[], options: CliRunOptions & { as?: string } = {}): Promise<CliRun> {
  const token = await h.idTokens.mint({ email: options.as ?? OPERATOR, audience: url });
  const run = await runCliInProcess([...argv, '--id-token', token], { env: { OAUTH_BROKER_ADMIN_URL: url }, ...options });
  printed.push(run.stdout, run.stderr);
  // The ID token is a credential too: it is sent, never shown.
  expect(`${run.stdout}${run.stderr}`).not.toContain(token);
  return run;
}

function json<T = Record<string, unknown>>(run: CliRun): T {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

async function storedStatus(connectionId: string): Promise<string> {
  return (await h.firestore.collection('connections').doc(connectionId).get()).get('status') as string;
}

describe('reading', () => {
  it('stats: counts by provider and status, as a table and as JSON', async () => {
    await h.connect('slack', { userId: 'u1' });
    await h.connect('google', { userId: 'u1' });
    await h.connect('notion', { userId: 'u2' });
    const stats = json<{ total: number; byStatus: Record<string, number>; byProvider: { provider: string; total: number }[] }>(await cli(['stats', '--json']));
    expect(stats.total).toBe(3);
    expect(stats.byStatus.active).toBe(3);
    expect(stats.byProvider.filter((row) => row.total > 0).map((row) => row.provider).sort()).toEqual(['google', 'notion', 'slack']);

    const human = await cli(['stats']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^3 connections/);
    expect(human.stdout).toMatch(/^PROVIDER\s+TOTAL\s+ACTIVE/m);
    expect(human.stdout).toMatch(/^slack\s+1\s+1/m);
    expect(human.stdout).toMatch(/^all\s+3\s+3/m);
  });

  it('list --all follows the cursor through every page of 120 connections; filters narrow it', async () => {
    const bulk = await writeBulkConnections(h.firestore, h.vault, 120, 'tenant-bulk');
    bulkSecrets.push(...bulk.secrets);
    const google = await h.connect('google', { tenantId: 'tenant-b', userId: 'u9' });

    const all = await cli(['list', '--all', '--limit', '50', '--tenant', 'tenant-bulk', '--json']);
    const listed = json<{ connections: { connectionId: string; tenantId: string }[]; nextCursor: null }>(all);
    expect(listed.connections).toHaveLength(120);
    expect(new Set(listed.connections.map((c) => c.connectionId))).toEqual(new Set(bulk.ids));
    expect(listed.nextCursor).toBeNull();
    expect(all.stderr).toContain('fetched 100 connections (2 pages)');

    const onePage = json<{ connections: unknown[]; nextCursor: string | null }>(await cli(['list', '--limit', '50', '--json']));
    expect(onePage.connections).toHaveLength(50);
    expect(onePage.nextCursor).toEqual(expect.any(String));
    const human = await cli(['list', '--limit', '50']);
    expect(human.stdout.trim().split('\n')).toHaveLength(51);
    expect(human.stderr).toContain('More match: add --all');

    const filtered = json<{ connections: { connectionId: string }[] }>(await cli(['list', '--provider', 'google', '--json']));
    expect(filtered.connections.map((c) => c.connectionId)).toEqual([google]);
    const table = await cli(['list', '--provider', 'google']);
    expect(table.stdout).toMatch(/^CONNECTION\s+TENANT\s+USER\s+PROVIDER/);
    expect(table.stdout).toMatch(new RegExp(`^${google}\\s+tenant-b\\s+u9\\s+google\\s+\\S+\\s+active\\s+unknown`, 'm'));
  });

  it('inspect: the connection and its audit trail, with the operator named', async () => {
    const id = await h.connect('google', {});
    expect((await cli(['refresh', id, '--json'])).code).toBe(0);
    const detail = json<{ connection: { connectionId: string; hasCredentials: boolean }; audit: { actor: { type: string; id: string | null } }[] }>(
      await cli(['inspect', id, '--json']),
    );
    expect(detail.connection).toMatchObject({ connectionId: id, hasCredentials: true });
    expect(detail.audit).toContainEqual(expect.objectContaining({ actor: { type: 'operator', id: OPERATOR } }));

    const human = await cli(['inspect', id]);
    expect(human.stdout).toMatch(/^connection:\s+conn_/);
    expect(human.stdout).toMatch(/^credentials:\s+sealed \(projects\/admin-test\/.*cryptoKeyVersions\/1\)/m);
    expect(human.stdout).toMatch(/audit trail \(\d+ entries, newest first\)/);
    expect(human.stdout).toContain(`operator:${OPERATOR}`);
  });

  it('a connection that does not exist: not_found, exit 1', async () => {
    const run = await cli(['inspect', `conn_${'0'.repeat(30)}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/oauth-broker: not_found \(HTTP 404\)/);
  });
});

describe('acting', () => {
  it('refresh one connection now, and run the refresh sweep', async () => {
    const id = await h.connect('google', {});
    const refreshed = json<{ outcome: string; connection: { refresh: { lastRefreshAt: string | null } } }>(await cli(['refresh', id, '--json']));
    expect(refreshed.outcome).toBe('refreshed');
    expect(refreshed.connection.refresh.lastRefreshAt).not.toBeNull();
    const human = await cli(['refresh', id]);
    expect(human.stdout).toMatch(/^(refreshed|skipped)/);

    const sweep = json<{ ranIn: string; summary: Record<string, unknown> }>(await cli(['refresh', '--all-expiring', '--json']));
    expect(sweep.ranIn).toBe('admin_function');
    expect(Object.keys(sweep.summary).length).toBeGreaterThan(0);
  });

  it('health of one connection at its provider, and the health sweep', async () => {
    const id = await h.connect('slack', {});
    const checked = json<{ outcome: string; connection: { health: { status: string } } }>(await cli(['health', id, '--json']));
    expect(checked.outcome).toBe('healthy');
    expect(checked.connection.health.status).toBe('healthy');
    expect((await cli(['health', id])).stdout).toMatch(/^healthy/);
    const sweep = json<{ ranIn: string }>(await cli(['health', '--all', '--json']));
    expect(sweep.ranIn).toBe('admin_function');
  });

  it('revoke refuses without --yes off a terminal (exit 2), asks on one, and revokes when confirmed', async () => {
    const id = await h.connect('slack', {});
    const refused = await cli(['revoke', id]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    expect(await storedStatus(id)).toBe('active');

    const prompts: string[] = [];
    const declined = await cli(['revoke', id], { stdinIsTTY: true, answer: false, prompts });
    expect(declined.code).toBe(1);
    expect(prompts[0]).toContain(`Revoke ${id} (slack account`);
    expect(await storedStatus(id)).toBe('active');

    const confirmed = await cli(['revoke', id], { stdinIsTTY: true, answer: true, prompts });
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.stdout).toMatch(/^Revoked conn_\w+; credentials destroyed; at the provider: revoked/);
    expect(await storedStatus(id)).toBe('revoked');
  });

  it('revoke --yes --json for scripts', async () => {
    const id = await h.connect('notion', {});
    const result = json<{ status: string; credentialsDestroyed: boolean; connection: { hasCredentials: boolean } }>(await cli(['revoke', id, '--yes', '--json']));
    expect(result).toMatchObject({ status: 'revoked', credentialsDestroyed: true, connection: { hasCredentials: false } });
  });
});

describe('who may use it', () => {
  it('a valid ID token of someone not on the allowlist: caller_not_allowed, exit 1, nothing on stdout', async () => {
    const run = await cli(['stats', '--json'], { as: NOT_AN_OPERATOR });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('caller_not_allowed (HTTP 403)');
  });

  describe('without --id-token: Application Default Credentials through the real google-auth-library', () => {
    let metadata: MetadataServer;
    let home: string;
    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), 'cli-adc-home-'));
      metadata = await startMetadataServer({ issuer: h.idTokens, serviceAccountEmail: OPERATOR, projectId: 'admin-test' });
      vi.stubEnv('HOME', home);
      vi.stubEnv('CLOUDSDK_CONFIG', join(home, 'gcloud'));
      vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', '');
      vi.stubEnv('GCE_METADATA_HOST', metadata.host);
      vi.stubEnv('GCE_METADATA_IP', '');
      vi.stubEnv('METADATA_SERVER_DETECTION', 'ping-only');
    });
    afterAll(async () => {
      vi.unstubAllEnvs();
      await metadata.stop();
      await rm(home, { recursive: true, force: true });
    });

    it('asks the metadata server for a token with the admin URL as audience', async () => {
      const run = await runCliInProcess(['stats', '--json', '--url', url], { googleAuth: async () => new GoogleAuth() });
      printed.push(run.stdout, run.stderr);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ total: 0 });
      expect(metadata.identityAudiences()).toEqual([url]);
    });
  });
});

describe('secrets', () => {
  it('nothing the CLI printed contains a token or client secret', () => {
    const secrets = [...h.sandbox.issuedSecrets(), ...h.clientSecrets, ...bulkSecrets];
    expect(secrets.length).toBeGreaterThan(100);
    expect(printed.length).toBeGreaterThan(40);
    for (const text of printed) for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
