// The dashboard's HTML: plain, accessible markup; its script and styles are separate routes (strict CSP, no inline code).
import { DASHBOARD_SCRIPT_INTEGRITY } from './dashboard-script.js';

const statuses = ['active', 'refreshing', 'needs_reauth', 'error', 'revoked'] as const;
const healths = ['unknown', 'healthy', 'unhealthy'] as const;
const options = (values: readonly string[]) => ['<option value="">any</option>', ...values.map((value) => `<option>${value}</option>`)].join('');

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>oauth-broker · operator dashboard</title>
<link rel="icon" href="?asset=favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="?asset=dashboard.css">
<script src="?asset=dashboard.js" integrity="${DASHBOARD_SCRIPT_INTEGRITY}" defer></script>
</head>
<body>
<header><h1>oauth-broker operations</h1><p id="operator-note">Every action here is audited under your identity.</p></header>
<main>
<section aria-labelledby="glance-title">
  <h2 id="glance-title">At a glance</h2>
  <div id="glance" class="cards" aria-live="polite"></div>
  <table id="providers"><caption>Connections by provider and status</caption><thead></thead><tbody></tbody></table>
  <div class="actions">
    <button type="button" id="refresh-all" data-confirm="Refresh every connection that is about to expire now?">Refresh all expiring</button>
    <button type="button" id="health-all" data-confirm="Check the health of every active connection at its provider now?">Health-check all</button>
    <button type="button" id="rewrap" data-confirm="Re-wrap every data key under the KMS key's primary version?">Re-wrap keys</button>
    <progress id="rewrap-progress" max="1" value="0" hidden></progress>
  </div>
</section>
<section aria-labelledby="history-title">
  <h2 id="history-title">Over time</h2>
  <p id="history-note" aria-live="polite"></p>
  <figure id="status-chart" class="chart" hidden>
    <figcaption id="status-chart-caption">Connections by status at the end of each sweep run</figcaption>
    <div class="chart-canvas"></div>
    <ul class="legend">${statuses.map((status) => `<li><span class="swatch series-${status}"></span>${status.replace('_', ' ')}</li>`).join('')}</ul>
    <table class="visually-hidden"><caption>Connections by status, latest runs first</caption><thead><tr><th scope="col">Run ended</th><th scope="col">Sweep</th>${statuses.map((status) => `<th scope="col">${status.replace('_', ' ')}</th>`).join('')}</tr></thead><tbody></tbody></table>
  </figure>
  <figure id="outcome-chart" class="chart" hidden>
    <figcaption id="outcome-chart-caption">Refresh outcomes per refresh sweep run</figcaption>
    <p class="chart-empty" hidden>No refresh sweep has run in this window.</p>
    <div class="chart-canvas"></div>
    <ul class="legend"><li><span class="swatch outcome-refreshed"></span>refreshed</li><li><span class="swatch outcome-failed"></span>failed</li></ul>
    <table class="visually-hidden"><caption>Refresh outcomes, latest runs first</caption><thead><tr><th scope="col">Run ended</th><th scope="col">Refreshed</th><th scope="col">Failed</th><th scope="col">Skipped</th><th scope="col">Left for the next run</th></tr></thead><tbody></tbody></table>
  </figure>
</section>
<section aria-labelledby="connections-title">
  <h2 id="connections-title">Connections</h2>
  <form id="filters" role="search">
    <label>Tenant <input name="tenantId" autocomplete="off"></label>
    <label>User <input name="userId" autocomplete="off"></label>
    <label>Provider <input name="provider" autocomplete="off"></label>
    <label>Status <select name="status">${options(statuses)}</select></label>
    <label>Health <select name="health">${options(healths)}</select></label>
    <button type="submit">Filter</button>
  </form>
  <table id="connections">
    <caption>Newest first</caption>
    <thead><tr><th scope="col">Provider</th><th scope="col">Tenant</th><th scope="col">User</th><th scope="col">Account</th><th scope="col">Status</th><th scope="col">Health</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Open</span></th></tr></thead>
    <tbody></tbody>
  </table>
  <button type="button" id="more" hidden>Load more</button>
</section>
<section id="detail" aria-labelledby="detail-title" hidden>
  <h2 id="detail-title">Connection</h2>
  <dl id="detail-fields"></dl>
  <div class="actions">
    <button type="button" id="act-health" data-confirm="Check this connection's health at its provider?">Health check</button>
    <button type="button" id="act-refresh" data-confirm="Refresh this connection's token now?">Refresh</button>
    <button type="button" id="act-revoke" class="danger" data-confirm="Revoke this connection? The grant is revoked at the provider and its credentials are destroyed. This cannot be undone.">Revoke</button>
  </div>
  <table id="audit"><caption>Audit trail, newest first</caption><thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">By</th><th scope="col">Outcome</th><th scope="col">Reason</th></tr></thead><tbody></tbody></table>
</section>
<p id="status" role="status" aria-live="polite"></p>
</main>
<dialog id="confirm" aria-labelledby="confirm-text">
  <form method="dialog">
    <p id="confirm-text"></p>
    <button value="cancel" id="confirm-cancel">Cancel</button>
    <button value="ok" id="confirm-ok" class="danger">Confirm</button>
  </form>
</dialog>
</body>
</html>
`;

export const DASHBOARD_CSS = `
:root { font-family: system-ui, sans-serif; color: #1b1b1b; background: #fafafa; }
body { margin: 0 auto; max-width: 75rem; padding: 1rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; }
.card { background: #fff; border: 1px solid #ccc; border-radius: .4rem; padding: .5rem .9rem; min-width: 7rem; }
.card strong { display: block; font-size: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin-top: .75rem; background: #fff; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; font-size: .9rem; }
form#filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
label { display: flex; flex-direction: column; font-size: .85rem; }
button { padding: .35rem .8rem; cursor: pointer; }
button.danger { background: #a40000; color: #fff; border: 1px solid #700; }
.actions { display: flex; gap: .5rem; align-items: center; margin-top: .75rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
#status:not(:empty) { background: #eef; padding: .5rem; border-radius: .3rem; }
:focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
figure.chart { margin: .75rem 0 0; background: #fff; border: 1px solid #ccc; border-radius: .4rem; padding: .5rem .9rem; }
figcaption { font-weight: 600; }
.chart-canvas svg { display: block; width: 100%; height: auto; }
.chart-canvas text { font-size: 11px; fill: #444; }
.chart-canvas .axis { stroke: #888; stroke-width: 1; }
.chart-canvas .grid { stroke: #e3e3e3; stroke-width: 1; }
.chart-canvas .line { fill: none; stroke-width: 2; }
.legend { display: flex; flex-wrap: wrap; gap: .9rem; list-style: none; padding: 0; margin: .4rem 0 0; font-size: .85rem; }
.swatch { display: inline-block; width: 1.4rem; height: 0; border-top: 3px solid; margin-right: .35rem; vertical-align: middle; }
.series-active { stroke: #2e7d32; fill: #2e7d32; border-color: #2e7d32; }
.series-refreshing { stroke: #1a5fb4; fill: #1a5fb4; border-color: #1a5fb4; stroke-dasharray: 6 3; border-top-style: dashed; }
.series-needs_reauth { stroke: #c64600; fill: #c64600; border-color: #c64600; stroke-dasharray: 2 3; border-top-style: dotted; }
.series-error { stroke: #a40000; fill: #a40000; border-color: #a40000; stroke-dasharray: 8 3 2 3; border-top-style: dashed; }
.series-revoked { stroke: #6b6b6b; fill: #6b6b6b; border-color: #6b6b6b; stroke-dasharray: 1 4; border-top-style: dotted; }
.chart-canvas .point { stroke: none; }
.outcome-refreshed { fill: #2e7d32; border-color: #2e7d32; }
.outcome-failed { fill: #a40000; border-color: #a40000; }
.swatch.outcome-refreshed, .swatch.outcome-failed { height: .8rem; border-top: 0; background: currentColor; }
.swatch.outcome-refreshed { color: #2e7d32; } .swatch.outcome-failed { color: #a40000; }
`;

/** A plain key glyph, so browsers do not ask for /favicon.ico (which is no route here). */
export const DASHBOARD_FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="5" cy="8" r="3.5" fill="none" stroke="#1a5fb4" stroke-width="2"/><path d="M8.5 8h7M13 8v3" stroke="#1a5fb4" stroke-width="2"/></svg>';
