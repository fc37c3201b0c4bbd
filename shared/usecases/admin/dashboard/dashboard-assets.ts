// Serves the dashboard: the page at the admin function's root, its script and styles by `?asset=`, each with a
// strict Content-Security-Policy (no inline code, nothing from another origin, Trusted Types for DOM sinks).
import { BrokerError } from '../../../errors/broker-error.js';
import { DASHBOARD_CSS, DASHBOARD_FAVICON, DASHBOARD_HTML } from './dashboard-page.js';
import { DASHBOARD_SCRIPT } from './dashboard-script.js';

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

// A Map, not an object literal: a name such as `__proto__` or `toString` must find nothing, not a prototype member.
const assets: ReadonlyMap<string, DashboardAsset> = new Map([
  ['dashboard.js', { contentType: 'text/javascript; charset=utf-8', body: DASHBOARD_SCRIPT }],
  ['dashboard.css', { contentType: 'text/css; charset=utf-8', body: DASHBOARD_CSS }],
  ['favicon.svg', { contentType: 'image/svg+xml', body: DASHBOARD_FAVICON }],
]);

/**
 * The page or asset for a GET of the root, or undefined when the request is not for the dashboard; an asset name
 * the dashboard does not have is `not_found`.
 */
export function dashboardAsset(path: string, query: Readonly<Record<string, string>>): DashboardAsset | undefined {
  if (path !== '/') return undefined;
  const name = query.asset;
  if (name === undefined) return { contentType: 'text/html; charset=utf-8', body: DASHBOARD_HTML };
  const asset = assets.get(name);
  if (asset === undefined) throw new BrokerError('not_found', 'No such dashboard asset');
  return asset;
}
