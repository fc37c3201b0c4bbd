// The dashboard as the admin function serves it: one page whose only script is the built one, named by an integrity
// hash that matches the bytes served, under the strict CSP; no inline code, no handlers, nothing from elsewhere.
// (test/browser/admin-dashboard.test.ts drives the page itself in Chromium.)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type {
  connectionDetailSchema,
  connectionListSchema,
  healthCheckResultSchema,
  refreshResultSchema,
  revokeResultSchema,
  rewrapJobSchema,
  statsHistorySchema,
  statsSchema,
  sweepResultSchema,
} from '../../shared/usecases/admin/admin-schemas.js';
import type {
  ConnectionActionAnswer,
  ConnectionDetailAnswer,
  ConnectionListAnswer,
  HistoryAnswer,
  RevokeAnswer,
  RewrapJobAnswer,
  StatsAnswer,
  SweepAnswer,
} from '../../shared/usecases/admin/dashboard/browser/dashboard-api.js';
import { type AdminHarness, startAdminHarness } from './admin-harness.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const browserFolder = 'shared/usecases/admin/dashboard/browser';

let h: AdminHarness;
beforeAll(async () => {
  h = await startAdminHarness('admin-dashboard-assets');
});
afterAll(async () => {
  await h?.stop();
});

async function get(query: string): Promise<{ status: number; csp: string | null; type: string | null; body: string }> {
  const response = await fetch(`${h.origin}/admin/${query}`, { headers: await h.iapHeaders() });
  return { status: response.status, csp: response.headers.get('content-security-policy'), type: response.headers.get('content-type'), body: await response.text() };
}

const directives = (csp: string | null) => new Map((csp ?? '').split(';').map((part) => part.trim().split(/\s+/)).map(([name = '', ...values]) => [name, values]));

describe('the dashboard page', () => {
  it('loads exactly the script the admin function serves, by an integrity hash of the bytes it serves, under the strict CSP', async () => {
    const page = await get('');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    const csp = directives(page.csp);
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('style-src')).toEqual(["'self'"]);
    expect(csp.get('require-trusted-types-for')).toEqual(["'script'"]);

    const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    const [, attributes = '', inline = ''] = scripts[0]!;
    expect(inline.trim()).toBe('');
    expect(attributes).toContain('src="?asset=dashboard.js"');
    const integrity = /integrity="(sha384-[A-Za-z0-9+/=]+)"/.exec(attributes)?.[1];

    const script = await get('?asset=dashboard.js');
    expect(script.status).toBe(200);
    expect(script.type).toMatch(/^text\/javascript/);
    expect(script.csp).toBe(page.csp);
    expect(integrity).toBe(`sha384-${createHash('sha384').update(script.body, 'utf8').digest('base64')}`);
    // What is served is the build's output of the TypeScript source, not a copy kept anywhere else.
    expect(script.body).toBe(readFileSync(`${repoRoot}dist/${browserFolder}/dashboard.js`, 'utf8'));
    expect(script.body).toContain("document.body.setAttribute('data-ready', 'true')");
    // One file: a module import would be a request for a script no route serves.
    expect(script.body).not.toMatch(/^\s*import\b/m);
  });

  it('has no inline styles or event handlers, and nothing from another origin', async () => {
    const { body } = await get('');
    expect(body).not.toMatch(/<style\b/i);
    expect(body).not.toMatch(/\sstyle=/i);
    expect(body).not.toMatch(/\son[a-z]+=/i);
    const references = [...body.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((match) => match[1]);
    expect(references.sort()).toEqual(['?asset=dashboard.css', '?asset=dashboard.js', '?asset=favicon.svg']);
  });

  it('serves the stylesheet from its source file, and 404 for an asset it does not have', async () => {
    const css = await get('?asset=dashboard.css');
    expect(css.status).toBe(200);
    expect(css.type).toMatch(/^text\/css/);
    expect(css.body).toBe(readFileSync(`${repoRoot}${browserFolder}/dashboard.css`, 'utf8'));
    expect((await get('?asset=dashboard-api.js')).status).toBe(404);
    expect((await get('?asset=')).status).toBe(404);
  });

  it("reads only fields the API's schemas answer with (checked by the compiler)", () => {
    expectTypeOf<z.output<typeof statsSchema>>().toExtend<StatsAnswer>();
    expectTypeOf<z.output<typeof statsHistorySchema>>().toExtend<HistoryAnswer>();
    expectTypeOf<z.output<typeof connectionListSchema>>().toExtend<ConnectionListAnswer>();
    expectTypeOf<z.output<typeof connectionDetailSchema>>().toExtend<ConnectionDetailAnswer>();
    expectTypeOf<z.output<typeof healthCheckResultSchema>>().toExtend<ConnectionActionAnswer>();
    expectTypeOf<z.output<typeof refreshResultSchema>>().toExtend<ConnectionActionAnswer>();
    expectTypeOf<z.output<typeof revokeResultSchema>>().toExtend<RevokeAnswer>();
    expectTypeOf<z.output<typeof sweepResultSchema>>().toExtend<SweepAnswer>();
    expectTypeOf<z.output<typeof rewrapJobSchema>>().toExtend<RewrapJobAnswer>();
    // And the check bites: a field no schema has is refused.
    expectTypeOf<z.output<typeof statsSchema>>().not.toExtend<StatsAnswer & { readonly secret: string }>();
  });
});
