// The dashboard's HTML: plain, accessible markup; its script and styles are separate routes (strict CSP, no inline code).
import { healthStatuses } from '../../../store/connection-document.js';
import { connectionStatuses } from '../../../store/connection-status.js';

const options = (values: readonly string[]) => ['<option value="">any</option>', ...values.map((value) => `<option>${value}</option>`)].join('');

/** The page, naming the script by its subresource integrity, which the browser checks against what it fetched. */
export const dashboardHtml = (scriptIntegrity: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>oauth-broker · operator dashboard</title>
<link rel="icon" href="?asset=favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="?asset=dashboard.css">
<script type="module" src="?asset=dashboard.js" integrity="${scriptIntegrity}"></script>
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
  <figure id="status-chart" class="chart" data-statuses="${connectionStatuses.join(' ')}" hidden>
    <figcaption id="status-chart-caption">Connections by status at the end of each sweep run</figcaption>
    <div class="chart-canvas"></div>
    <ul class="legend">${connectionStatuses.map((status) => `<li><span class="swatch series-${status}"></span>${status.replace('_', ' ')}</li>`).join('')}</ul>
    <table class="visually-hidden"><caption>Connections by status, latest runs first</caption><thead><tr><th scope="col">Run ended</th><th scope="col">Sweep</th>${connectionStatuses.map((status) => `<th scope="col">${status.replace('_', ' ')}</th>`).join('')}</tr></thead><tbody></tbody></table>
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
    <label>Status <select name="status">${options(connectionStatuses)}</select></label>
    <label>Health <select name="health">${options(healthStatuses)}</select></label>
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

/** A plain key glyph, so browsers do not ask for /favicon.ico (which is no route here). */
export const DASHBOARD_FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="5" cy="8" r="3.5" fill="none" stroke="#1a5fb4" stroke-width="2"/><path d="M8.5 8h7M13 8v3" stroke="#1a5fb4" stroke-width="2"/></svg>';
