// The operator dashboard in headless Chromium, through the local stack's IAP stand-in: the numbers, a filter,
// one connection's details, a revoke behind a confirmation, and the status changing — under a strict CSP.
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
import { type LocalStack, startLocalStack } from '../support/local-stack.js';

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
    stack = await startLocalStack({ repoRoot, port: 0, stateDir, env: { FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'), LOG_LEVEL: 'ERROR' } });
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
        expiresAtMs: Date.now() + 3600_000,
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
    const external: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).hostname !== '127.0.0.1') external.push(request.url());
    });

    const response = await page.goto(dashboard);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('body[data-ready="true"]');
    const total = Number(await page.locator('[data-stat="total"] strong').textContent());
    expect(total).toBeGreaterThanOrEqual(3);

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
    expect(problems).toEqual([]);
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
