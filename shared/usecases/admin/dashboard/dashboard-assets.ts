// Serves the dashboard: the page at the admin function's root, its script and styles by `?asset=`, each with a
// strict Content-Security-Policy (no inline code, nothing from another origin, Trusted Types for DOM sinks).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lazy } from '../../../async/lazy.js';
import { BrokerError } from '../../../errors/broker-error.js';
import { DASHBOARD_FAVICON, dashboardHtml } from './dashboard-page.js';

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

export interface DashboardAsset {
  readonly contentType: string;
  readonly body: string;
}

/**
 * Where the build (scripts/build.js) puts the compiled browser script and the stylesheet: beside this module under
 * dist/. Run from source (tsx, vitest), this module reads them from the same place under dist/, which the test
 * setup and `npm start` build first.
 */
const builtBrowserFolder = import.meta.url.endsWith('.ts')
  ? new URL('../../../../dist/shared/usecases/admin/dashboard/browser/', import.meta.url)
  : new URL('./browser/', import.meta.url);

function readBuilt(name: string): string {
  const url = new URL(name, builtBrowserFolder);
  try {
    return readFileSync(url, 'utf8');
  } catch (error) {
    throw new Error(`The dashboard's ${name} is not built at ${url.pathname}: run \`npm run build\``, { cause: error });
  }
}

/** Subresource integrity of a script, as the page's integrity attribute names it. */
export function scriptIntegrity(script: string): string {
  return `sha384-${createHash('sha384').update(script, 'utf8').digest('base64')}`;
}

interface Dashboard {
  readonly page: DashboardAsset;
  readonly assets: ReadonlyMap<string, DashboardAsset>;
}

function loadDashboard(): Dashboard {
  const script = readBuilt('dashboard.js');
  const page = { contentType: 'text/html; charset=utf-8', body: dashboardHtml(scriptIntegrity(script)) };
  // A Map, not an object literal: a name such as `__proto__` or `toString` must find nothing, not a prototype member.
  const assets = new Map([
    ['dashboard.js', { contentType: 'text/javascript; charset=utf-8', body: script }],
    ['dashboard.css', { contentType: 'text/css; charset=utf-8', body: readBuilt('dashboard.css') }],
    ['favicon.svg', { contentType: 'image/svg+xml', body: DASHBOARD_FAVICON }],
  ]);
  return { page, assets };
}

// Read on the first dashboard request (the API alone never needs them); a failed read is not kept.
const dashboard = lazy(loadDashboard);

/**
 * The page or asset for a GET of the root, or undefined when the request is not for the dashboard; an asset name
 * the dashboard does not have is `not_found`.
 */
export function dashboardAsset(path: string, query: Readonly<Record<string, string>>): DashboardAsset | undefined {
  if (path !== '/') return undefined;
  const { page, assets } = dashboard();
  const name = query.asset;
  if (name === undefined) return page;
  const asset = assets.get(name);
  if (asset === undefined) throw new BrokerError('not_found', 'No such dashboard asset');
  return asset;
}
