// The newcomer's first five minutes in a real browser: the demo page → sandbox consent → back (the demo confirming its
// signed-in user, as a product does), and the new connection is listed.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/local-stack.js';

const CHROMIUM = '/usr/bin/chromium';
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const resultsDir = join(repoRoot, 'test-results');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  process.stderr.write(`connect-demo browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)\n`);
}

describe.skipIf(!hasChromium)('the connect demo in headless Chromium', () => {
  let stateDir = '';
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'broker-browser-'));
    stack = await startLocalStack({ repoRoot, port: 0, stateDir, env: { FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'), PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'), LOG_LEVEL: 'ERROR' } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('connects a sandbox Slack workspace and lists it, with the __Host- binding cookie accepted on loopback http', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const external: string[] = [];
    const returns: URL[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.hostname !== '127.0.0.1') external.push(request.url());
      if (url.pathname === '/demo/connected') returns.push(url);
    });
    await page.goto(`${stack.description.functionsOrigin}/demo/`);
    await page.selectOption('#provider', 'slack');
    await Promise.all([page.waitForURL(/sandbox_decision|oauth\/v2\/authorize/), page.click('#connect')]);
    // On the sandbox's consent page: the start step has bound the flow to this browser.
    const cookies = await context.cookies(stack.description.functionsOrigin);
    expect(cookies.map((cookie) => cookie.name)).toEqual([expect.stringMatching(/^__Host-broker-flow-[0-9a-f]{16}$/)]);
    expect(cookies[0]).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
    await Promise.all([page.waitForURL(/\/demo\/connected\?/), page.click('#allow')]);

    const landed = new URL(page.url());
    expect(landed.searchParams.get('outcome')).toBe('connected');
    // The callback parked the grant and came back pending; the demo's return page confirmed its signed-in user
    // server-side and moved on to an address without the one-time flow id.
    expect(returns.map((url) => url.searchParams.get('outcome'))).toEqual(['pending_confirmation', 'connected']);
    expect(returns[0]?.searchParams.get('flow_id')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(landed.searchParams.get('flow_id')).toBeNull();
    const connectionId = landed.searchParams.get('connection_id') as string;
    await expect(page.locator('#outcome').getAttribute('data-outcome')).resolves.toBe('connected');
    const row = page.locator(`tr[data-connection-id="${connectionId}"]`);
    await expect(row.locator('td').first().textContent()).resolves.toBe('slack');
    await expect(row.locator('td').nth(3).textContent()).resolves.toBe('active');
    // The flow is over: its binding cookie is gone, and nothing was fetched from off the machine.
    expect(await context.cookies(stack.description.functionsOrigin)).toEqual([]);
    expect(external).toEqual([]);
    await mkdir(resultsDir, { recursive: true });
    await page.screenshot({ path: join(resultsDir, 'connect-demo.png'), fullPage: true });
    await context.close();
  });

  it('shows a denial as the outcome, with no new connection', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.description.functionsOrigin}/demo/`);
    const before = await page.locator('tr[data-connection-id]').count();
    await page.selectOption('#provider', 'google');
    await Promise.all([page.waitForURL(/accounts\.google\.com/), page.click('#connect')]);
    await Promise.all([page.waitForURL(/\/demo\/connected\?/), page.click('#deny')]);
    expect(new URL(page.url()).searchParams.get('outcome')).toBe('denied');
    expect(await page.locator('tr[data-connection-id]').count()).toBe(before);
    await context.close();
  });
});
