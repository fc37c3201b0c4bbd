// The dashboard's browser script, served as its own route (no inline script under the CSP). It builds the DOM
// with textContent only (Trusted Types enforced) and calls the JSON API relative to wherever the page is served.
import { createHash } from 'node:crypto';

export const DASHBOARD_SCRIPT = String.raw`'use strict';
(() => {
  const root = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
  const $ = (selector) => document.querySelector(selector);
  const status = $('#status');
  let cursor = null;
  let current = null;

  function el(tag, text, attributes) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    return node;
  }

  async function api(method, path, body) {
    const response = await fetch(root + path, {
      method,
      headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
      body: method === 'POST' ? JSON.stringify(body || {}) : undefined,
      credentials: 'same-origin',
    });
    const json = await response.json();
    if (!response.ok) throw new Error(json.detail || json.title || ('HTTP ' + response.status));
    return json;
  }

  function say(message) { status.textContent = message; }

  function confirmAction(button) {
    const dialog = $('#confirm');
    $('#confirm-text').textContent = button.dataset.confirm;
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.showModal();
    });
  }

  async function loadStats() {
    const stats = await api('GET', 'api/stats');
    const glance = $('#glance');
    glance.replaceChildren();
    const card = (label, value, key) => {
      const node = el('div', null, { class: 'card', 'data-stat': key });
      node.append(el('strong', value), el('span', label));
      glance.append(node);
    };
    card('connections', stats.total, 'total');
    for (const [state, count] of Object.entries(stats.byStatus)) card(state.replace('_', ' '), count, 'status-' + state);
    for (const [health, count] of Object.entries(stats.health)) card(health + ' (live)', count, 'health-' + health);
    const statuses = Object.keys(stats.byStatus);
    const head = el('tr');
    head.append(el('th', 'Provider', { scope: 'col' }), ...statuses.map((s) => el('th', s, { scope: 'col' })), el('th', 'total', { scope: 'col' }));
    $('#providers thead').replaceChildren(head);
    $('#providers tbody').replaceChildren(...stats.byProvider.map((row) => {
      const tr = el('tr');
      tr.append(el('th', row.provider, { scope: 'row' }), ...statuses.map((s) => el('td', row.byStatus[s])), el('td', row.total));
      return tr;
    }));
  }

  function filterQuery() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData($('#filters'))) if (value !== '') params.set(name, String(value));
    return params;
  }

  async function loadConnections(append) {
    const params = filterQuery();
    params.set('limit', '50');
    if (append && cursor) params.set('cursor', cursor);
    const page = await api('GET', 'api/connections?' + params.toString());
    const rows = page.connections.map((c) => {
      const tr = el('tr', null, { 'data-connection-id': c.connectionId });
      const open = el('button', 'Details', { type: 'button', 'aria-label': 'Details of ' + c.provider + ' ' + c.accountId });
      open.addEventListener('click', () => openDetail(c.connectionId));
      const cell = el('td');
      cell.append(open);
      tr.append(el('td', c.provider), el('td', c.tenantId), el('td', c.userId || '(tenant)'), el('td', c.displayName || c.accountId),
        el('td', c.status, { 'data-field': 'status' }), el('td', c.health.status), el('td', c.expiresAt || 'never'), cell);
      return tr;
    });
    const body = $('#connections tbody');
    if (append) body.append(...rows); else body.replaceChildren(...rows);
    cursor = page.nextCursor;
    $('#more').hidden = cursor === null;
  }

  async function openDetail(connectionId) {
    const detail = await api('GET', 'api/connections/' + encodeURIComponent(connectionId));
    current = detail.connection;
    const c = detail.connection;
    const fields = [['Id', c.connectionId], ['Provider', c.provider], ['Tenant', c.tenantId], ['User', c.userId || '(tenant)'],
      ['Account', c.displayName ? c.displayName + ' (' + c.accountId + ')' : c.accountId], ['Scopes', c.scopes.join(' ') || '—'],
      ['Status', c.status + (c.statusReason ? ' (' + c.statusReason + ')' : '')], ['Health', c.health.status + (c.health.errorCode ? ' (' + c.health.errorCode + ')' : '')],
      ['Expires', c.expiresAt || 'never'], ['Last refresh', c.refresh.lastRefreshAt || '—'], ['Sealed with', c.sealedWithKeyVersion || 'no credentials'],
      ['Created', c.createdAt], ['Updated', c.updatedAt]];
    $('#detail-fields').replaceChildren(...fields.flatMap(([name, value]) => [el('dt', name), el('dd', value, { 'data-field': name.toLowerCase() })]));
    $('#audit tbody').replaceChildren(...detail.audit.map((entry) => {
      const tr = el('tr');
      tr.append(el('td', entry.at), el('td', entry.action), el('td', entry.actor.type + (entry.actor.id ? ': ' + entry.actor.id : '')), el('td', entry.outcome), el('td', entry.reason || ''));
      return tr;
    }));
    $('#act-revoke').disabled = c.status === 'revoked';
    $('#detail').hidden = false;
    $('#detail-title').textContent = 'Connection ' + c.provider + ' · ' + c.accountId;
    $('#detail-title').focus();
  }

  async function guarded(button, run) {
    if (!(await confirmAction(button))) { say('Cancelled.'); return; }
    button.disabled = true;
    say('Working…');
    let message;
    try { message = await run(); } catch (error) { message = 'Failed: ' + error.message; } finally { button.disabled = false; }
    // The outcome is announced once the page shows the state it produced.
    await Promise.all([loadStats(), loadConnections(false), current ? openDetail(current.connectionId) : null]).catch((error) => { message += ' (reload failed: ' + error.message + ')'; });
    say(message);
  }

  function connectionAction(id, path, describe) {
    $(id).addEventListener('click', (event) => guarded(event.currentTarget, async () =>
      describe(await api('POST', 'api/connections/' + encodeURIComponent(current.connectionId) + '/' + path))));
  }

  connectionAction('#act-health', 'health-check', (r) => 'Health: ' + r.outcome + (r.reason ? ' (' + r.reason + ')' : ''));
  connectionAction('#act-refresh', 'refresh', (r) => 'Refresh: ' + r.outcome + (r.reason ? ' (' + r.reason + ')' : ''));
  connectionAction('#act-revoke', 'revoke', (r) => 'Revoked; provider revocation: ' + r.providerRevocation.outcome);
  $('#refresh-all').addEventListener('click', (event) => guarded(event.currentTarget, async () => {
    const r = await api('POST', 'api/refresh');
    return r.ranIn === 'cloud_scheduler' ? 'Started ' + r.schedulerJob : 'Refresh sweep: ' + JSON.stringify(r.summary);
  }));
  $('#health-all').addEventListener('click', (event) => guarded(event.currentTarget, async () => 'Health sweep: ' + JSON.stringify((await api('POST', 'api/health-check')).summary)));
  $('#rewrap').addEventListener('click', (event) => guarded(event.currentTarget, async () => {
    const bar = $('#rewrap-progress');
    bar.hidden = false;
    let job = await api('POST', 'api/rewrap', { maxBatches: 1 });
    for (;;) {
      bar.max = Math.max(job.total, 1);
      bar.value = job.counts.scanned;
      say('Re-wrap ' + job.jobId + ': ' + job.counts.scanned + ' of ' + job.total);
      if (job.status === 'completed') break;
      job = await api('POST', 'api/rewrap', { jobId: job.jobId, maxBatches: 1 });
    }
    return 'Re-wrap completed: ' + job.counts.rewrapped + ' moved, ' + job.counts.alreadyCurrent + ' already current, ' + job.counts.failed + ' failed';
  }));
  $('#filters').addEventListener('submit', (event) => { event.preventDefault(); loadConnections(false).catch((e) => say('Failed: ' + e.message)); });
  $('#more').addEventListener('click', () => loadConnections(true).catch((e) => say('Failed: ' + e.message)));
  $('#detail-title').setAttribute('tabindex', '-1');
  Promise.all([loadStats(), loadConnections(false)]).then(() => document.body.setAttribute('data-ready', 'true'), (e) => say('Failed: ' + e.message));
})();
`;

/** Subresource integrity of the script, checked by the browser against what it fetched. */
export const DASHBOARD_SCRIPT_INTEGRITY = `sha384-${createHash('sha384').update(DASHBOARD_SCRIPT, 'utf8').digest('base64')}`;
