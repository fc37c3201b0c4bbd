// The operator dashboard in headless Chromium, through the local stack's IAP stand-in: the numbers, a filter,
// one connection's details, a revoke behind a confirmation, the status changing, and the sweep history chart from
// its empty state to the runs the dashboard's own sweep actions produced — under a strict CSP.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Firestore } from '@google-cloud/firestore';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import { createVault, type Vault } from '../../shared/crypto/vault.js';
import { createFirestore } from '../../shared/store/firestore-client.js';
import { systemClock } from '../../shared/time/clock.js';
import { writeConnection } from '../support/connection-fixtures.js';
import { testProjectId } from '../support/firestore-test-project.js';
import { type LocalStack, startLocalStack } from '../../local/local-stack.js';

const CHROMIUM = '/usr/bin/chromium';
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const resultsDir = join(repoRoot, 'test-results');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  process.stderr.write(`admin-dashboard browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)\n`);
}

// A tenant of its own: the local stack's project is shared with the connect demo's browser test.
const TENANT = `dashboard-${Date.now().toString(36)}`;

describe.skipIf(!hasChromium)('the admin dashboard in headless Chromium', () => {
  let stateDir = '';
  let stack: LocalStack;
  let browser: Browser;
  let firestore: Firestore;
  let vault: Vault;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'broker-admin-browser-'));
    // A project of its own, and a scheduler timer that never fires during the test: the sweep history the chart
    // shows is exactly what this test's actions produced, starting from none.
    stack = await startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      projectId: testProjectId('admin-dashboard'),
      env: { FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'), PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'), LOG_LEVEL: 'ERROR', SWEEP_INTERVAL_SECONDS: '86400' },
    });
    const config = loadConfig(stack.functionEnv);
    firestore = createFirestore(config);
    vault = createVault(config, { clock: systemClock });
    for (const [provider, account, user] of [
      ['slack', 'T0DASH01', 'ada'],
      ['slack', 'T0DASH02', 'grace'],
      ['google', 'ada@example.com', 'ada'],
    ] as const) {
      ids[`${provider}:${account}`] = await writeConnection(firestore, vault, {
        tenantId: TENANT,
        userId: user,
        provider,
        providerAccountId: account,
        credentials: { accessToken: `local-${provider}-${account}-${'t'.repeat(20)}` },
        // Ada's Google token is about to expire, and its grant is none the sandbox issued: "refresh all expiring" tries it,
        // the provider calls the grant dead, and the chart shows that run's failure and the connection moving to needs_reauth.
        expiresAtMs: provider === 'google' ? Date.now() + 60_000 : Date.now() + 3600_000,
      });
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await firestore?.terminate();
    await vault?.close();
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('shows the numbers, filters, opens a connection and revokes it after confirming; the status changes', async () => {
    expect(stack.description.adminUser).toBe('operator@oauth-broker.local');
    const dashboard = stack.description.adminDashboard as string;
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    // CSP violations are console errors in Chromium too; the event says which directive, should one ever slip through.
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        const seen = ((window as unknown as { cspViolations?: string[] }).cspViolations ??= []);
        seen.push(`${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    const external: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).hostname !== '127.0.0.1') external.push(request.url());
    });

    const response = await page.goto(dashboard);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('body[data-ready="true"]');
    const total = Number(await page.locator('[data-stat="total"] strong').textContent());
    expect(total).toBe(3);

    // No sweep has run yet: the history says so and draws nothing.
    await expect(page.locator('#history-note').textContent()).resolves.toMatch(/^No sweep has run in the last 48 hours yet/);
    await expect(page.locator('#status-chart').isHidden()).resolves.toBe(true);
    await expect(page.locator('#outcome-chart').isHidden()).resolves.toBe(true);

    await page.fill('input[name="tenantId"]', TENANT);
    await page.fill('input[name="provider"]', 'slack');
    await page.click('#filters button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#connections tbody tr').length === 2);
    const slackId = ids['slack:T0DASH01'] as string;
    const row = page.locator(`tr[data-connection-id="${slackId}"]`);
    await expect(row.locator('[data-field="status"]').textContent()).resolves.toBe('active');

    await row.getByRole('button').click();
    await page.waitForSelector('#detail:not([hidden])');
    await expect(page.locator('dd[data-field="id"]').textContent()).resolves.toBe(slackId);

    // Cancelling changes nothing.
    await page.click('#act-revoke');
    await expect(page.locator('#confirm-text').textContent()).resolves.toContain('cannot be undone');
    await page.click('#confirm-cancel');
    // The dialog's close event (which announces the outcome) fires after the click returns.
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Cancelled.');
    await expect(row.locator('[data-field="status"]').textContent()).resolves.toBe('active');

    await page.click('#act-revoke');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => /^Revoked; provider revocation: /.test(document.querySelector('#status')?.textContent ?? ''));
    await expect(row.locator('[data-field="status"]').textContent()).resolves.toBe('revoked');
    await expect(page.locator('dd[data-field="status"]').textContent()).resolves.toMatch(/^revoked/);
    await expect(page.locator('#audit tbody tr').first().locator('td').nth(2).textContent()).resolves.toBe('operator: operator@oauth-broker.local');
    await expect(page.locator('#act-revoke').isDisabled()).resolves.toBe(true);

    const stored = (await firestore.collection('connections').doc(slackId).get()).data();
    expect(stored).toMatchObject({ status: 'revoked', credentials: null });

    // "Refresh all expiring", confirmed, runs the refresh sweep; the chart then shows that run.
    await page.click('#refresh-all');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => /^Refresh sweep: /.test(document.querySelector('#status')?.textContent ?? ''));
    await page.waitForSelector('#status-chart svg[data-chart="status"]');
    const statusChart = page.locator('#status-chart svg');
    await expect(statusChart.getAttribute('role')).resolves.toBe('img');
    await expect(statusChart.getAttribute('aria-label')).resolves.toMatch(/1 sweep runs\. Latest, .*: 1 active, 0 refreshing, 1 needs reauth, 0 error, 1 revoked\.$/);
    await expect(page.locator('#status-chart polyline[data-status="active"]').getAttribute('data-points')).resolves.toBe('1');
    await expect(page.locator('#status-chart circle.series-active').count()).resolves.toBe(1);
    await expect(page.locator('#status-chart figcaption').textContent()).resolves.toContain('Connections by status');
    await expect(page.locator('#status-chart table tbody tr').count()).resolves.toBe(1);
    await expect(page.locator('#status-chart table tbody tr td').first().textContent()).resolves.toBe('refresh');
    const outcomeChart = page.locator('#outcome-chart svg[data-chart="outcomes"]');
    await expect(outcomeChart.getAttribute('aria-label')).resolves.toMatch(/Latest: 0 refreshed, 1 failed\./);
    await expect(page.locator('#outcome-chart rect.outcome-refreshed').getAttribute('data-value')).resolves.toBe('0');
    await expect(page.locator('#outcome-chart rect.outcome-failed').getAttribute('data-value')).resolves.toBe('1');
    expect(Number(await page.locator('#outcome-chart rect.outcome-failed').getAttribute('height'))).toBeGreaterThan(0);
    await expect(page.locator('#outcome-chart table tbody tr td').allTextContents()).resolves.toEqual(['0', '1', '0', '0']);

    // A health sweep adds a second run to the status chart (not to the refresh outcomes).
    await page.click('#health-all');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => /^Health sweep: /.test(document.querySelector('#status')?.textContent ?? ''));
    await page.waitForFunction(() => document.querySelector('#status-chart polyline[data-status="active"]')?.getAttribute('data-points') === '2');
    await expect(page.locator('#history-note').textContent()).resolves.toBe('2 sweep runs in the last 48 hours.');
    await expect(page.locator('#outcome-chart rect.outcome-refreshed').count()).resolves.toBe(1);

    expect(problems).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? [])).toEqual([]);
    expect(external).toEqual([]);
    await mkdir(resultsDir, { recursive: true });
    await page.screenshot({ path: join(resultsDir, 'admin-dashboard.png'), fullPage: true });
    await context.close();
  });

  it('is not served to a browser that comes without IAP or an ID token', async () => {
    const response = await fetch(`${stack.description.functionsOrigin}/admin/`);
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain('<html');
  });
});
