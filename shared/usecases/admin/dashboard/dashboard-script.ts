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

  const SVG = 'http://www.w3.org/2000/svg';
  const HISTORY_HOURS = 48;
  const STATUSES = ['active', 'refreshing', 'needs_reauth', 'error', 'revoked'];
  const W = 640, H = 220, LEFT = 44, RIGHT = 12, TOP = 12, BOTTOM = 28;
  // Beyond this many runs a marker per point is noise; the line alone carries them.
  const MAX_MARKERS = 120;
  const TABLE_ROWS = 50;

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  const label = (status) => status.replace('_', ' ');
  const timeOf = (iso) => new Date(iso).getTime();
  const shortTime = (ms) => new Date(ms).toISOString().slice(5, 16).replace('T', ' ') + ' UTC';

  /** An SVG with axes from fromMs..toMs and 0..maxY; returns it with the scales to place marks by. */
  function frame(fromMs, toMs, maxY, name) {
    const top = Math.max(1, maxY);
    const x = (ms) => LEFT + ((ms - fromMs) / Math.max(1, toMs - fromMs)) * (W - LEFT - RIGHT);
    const y = (value) => H - BOTTOM - (value / top) * (H - TOP - BOTTOM);
    const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'data-chart': name, preserveAspectRatio: 'xMidYMid meet' });
    for (const value of [0, top / 2, top]) {
      root.append(svg('line', { class: value === 0 ? 'axis' : 'grid', x1: LEFT, x2: W - RIGHT, y1: y(value), y2: y(value) }));
      root.append(svg('text', { x: LEFT - 6, y: y(value) + 4, 'text-anchor': 'end' }, Number.isInteger(value) ? value : value.toFixed(1)));
    }
    root.append(svg('line', { class: 'axis', x1: LEFT, x2: LEFT, y1: TOP, y2: H - BOTTOM }));
    root.append(svg('text', { x: LEFT, y: H - 8, 'text-anchor': 'start' }, shortTime(fromMs)));
    root.append(svg('text', { x: W - RIGHT, y: H - 8, 'text-anchor': 'end' }, shortTime(toMs)));
    return { root, x, y };
  }

  function tableRows(figure, rows) {
    figure.querySelector('tbody').replaceChildren(...rows.map((cells) => {
      const tr = el('tr');
      tr.append(el('th', cells[0], { scope: 'row' }), ...cells.slice(1).map((cell) => el('td', cell)));
      return tr;
    }));
  }

  function drawStatusChart(history, fromMs, toMs) {
    const figure = $('#status-chart');
    const runs = history.snapshots;
    const maxY = Math.max(...runs.map((run) => Math.max(...STATUSES.map((s) => run.byStatus[s] || 0))));
    const { root, x, y } = frame(fromMs, toMs, maxY, 'status');
    for (const status of STATUSES) {
      const points = runs.map((run) => x(timeOf(run.at)).toFixed(1) + ',' + y(run.byStatus[status] || 0).toFixed(1));
      root.append(svg('polyline', { class: 'line series-' + status, points: points.join(' '), 'data-status': status, 'data-points': points.length }));
      if (runs.length <= MAX_MARKERS) {
        for (const run of runs) root.append(svg('circle', { class: 'point series-' + status, cx: x(timeOf(run.at)), cy: y(run.byStatus[status] || 0), r: 2.5 }));
      }
    }
    const latest = runs[runs.length - 1];
    root.setAttribute('aria-label', 'Connections by status over the last ' + history.hours + ' hours, ' + runs.length + ' sweep runs. Latest, ' +
      shortTime(timeOf(latest.at)) + ': ' + STATUSES.map((s) => (latest.byStatus[s] || 0) + ' ' + label(s)).join(', ') + '.');
    figure.querySelector('.chart-canvas').replaceChildren(root);
    tableRows(figure, runs.slice(-TABLE_ROWS).reverse().map((run) => [run.at, run.kind, ...STATUSES.map((s) => run.byStatus[s] || 0)]));
    figure.hidden = false;
  }

  function drawOutcomeChart(history, fromMs, toMs) {
    const figure = $('#outcome-chart');
    const runs = history.snapshots.filter((run) => run.kind === 'refresh');
    const canvas = figure.querySelector('.chart-canvas');
    figure.querySelector('.chart-empty').hidden = runs.length > 0;
    figure.hidden = false;
    if (runs.length === 0) {
      canvas.replaceChildren();
      tableRows(figure, []);
      return;
    }
    const maxY = Math.max(...runs.map((run) => run.run.refreshed + run.run.failed));
    const { root, x, y } = frame(fromMs, toMs, maxY, 'outcomes');
    const width = Math.max(2, Math.min(12, ((W - LEFT - RIGHT) / runs.length) * 0.6));
    for (const run of runs) {
      const left = x(timeOf(run.at)) - width / 2;
      const refreshedTop = y(run.run.refreshed);
      const failedTop = y(run.run.refreshed + run.run.failed);
      root.append(svg('rect', { class: 'bar outcome-refreshed', x: left, width, y: refreshedTop, height: y(0) - refreshedTop, 'data-value': run.run.refreshed }));
      root.append(svg('rect', { class: 'bar outcome-failed', x: left, width, y: failedTop, height: refreshedTop - failedTop, 'data-value': run.run.failed }));
    }
    const latest = runs[runs.length - 1].run;
    const total = (key) => runs.reduce((sum, run) => sum + run.run[key], 0);
    root.setAttribute('aria-label', 'Refresh outcomes per run over the last ' + history.hours + ' hours, ' + runs.length + ' refresh sweep runs. Latest: ' +
      latest.refreshed + ' refreshed, ' + latest.failed + ' failed. In all: ' + total('refreshed') + ' refreshed, ' + total('failed') + ' failed.');
    canvas.replaceChildren(root);
    tableRows(figure, runs.slice(-TABLE_ROWS).reverse().map((run) => [run.at, run.run.refreshed, run.run.failed, run.run.skipped, run.run.remaining]));
  }

  async function loadHistory() {
    const history = await api('GET', 'api/stats/history?hours=' + HISTORY_HOURS);
    const fromMs = timeOf(history.from), toMs = timeOf(history.to);
    const note = $('#history-note');
    if (history.snapshots.length === 0) {
      note.textContent = 'No sweep has run in the last ' + history.hours + ' hours yet: the charts appear after the first refresh or health sweep.';
      $('#status-chart').hidden = true;
      $('#outcome-chart').hidden = true;
      return;
    }
    note.textContent = history.snapshots.length + ' sweep runs in the last ' + history.hours + ' hours' +
      (history.truncated ? ' (only the latest are shown)' : '') + '.';
    drawStatusChart(history, fromMs, toMs);
    drawOutcomeChart(history, fromMs, toMs);
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
    await Promise.all([loadStats(), loadHistory(), loadConnections(false), current ? openDetail(current.connectionId) : null]).catch((error) => { message += ' (reload failed: ' + error.message + ')'; });
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
  Promise.all([loadStats(), loadHistory(), loadConnections(false)]).then(() => document.body.setAttribute('data-ready', 'true'), (e) => say('Failed: ' + e.message));
})();
`;

/** Subresource integrity of the script, checked by the browser against what it fetched. */
export const DASHBOARD_SCRIPT_INTEGRITY = `sha384-${createHash('sha384').update(DASHBOARD_SCRIPT, 'utf8').digest('base64')}`;
