// The dashboard's browser script, served as its own route (no inline script under the CSP). It builds the DOM with
// textContent only (Trusted Types enforced) and calls the JSON API relative to wherever the page is served.
// The page loads this one file: it imports types only (a runtime import would be a request no route answers).
import type {
  ConnectionActionAnswer,
  ConnectionAnswer,
  ConnectionDetailAnswer,
  ConnectionListAnswer,
  HistoryAnswer,
  HistorySnapshot,
  RevokeAnswer,
  RewrapJobAnswer,
  StatsAnswer,
  SweepAnswer,
} from './dashboard-api.js';
import type { ProblemBody } from '../../../../../client/wire.js';

type RefreshSnapshot = Extract<HistorySnapshot, { kind: 'refresh' }>;
type Attributes = Readonly<Record<string, string | number>>;

const root = location.pathname.endsWith('/') ? location.pathname : `${location.pathname}/`;
const SVG = 'http://www.w3.org/2000/svg';
const HISTORY_HOURS = 48;
const W = 640;
const H = 220;
const LEFT = 44;
const RIGHT = 12;
const TOP = 12;
const BOTTOM = 28;
// Beyond this many runs a marker per point is noise; the line alone carries them.
const MAX_MARKERS = 120;
const TABLE_ROWS = 50;

/** An element the page's markup has; its absence is a broken page, said plainly. */
function $<T extends Element = HTMLElement>(selector: string, within: ParentNode = document): T {
  const found = within.querySelector<T>(selector);
  if (found === null) throw new Error(`The dashboard's markup has no ${selector}`);
  return found;
}

const status = $('#status');
// The status chart's series are the connection statuses the server rendered into the page, in its order.
const STATUSES = ($('#status-chart').dataset.statuses ?? '').split(' ').filter((name) => name !== '');
let cursor: string | null = null;
let current: ConnectionAnswer | null = null;

function el(tag: string, text?: string | number | null, attributes: Attributes = {}): HTMLElement {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function svg(tag: string, attributes: Attributes = {}, text?: string | number): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

async function api<T>(method: 'GET' | 'POST', path: string, body?: object): Promise<T> {
  const response = await fetch(root + path, {
    method,
    headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
    body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
    credentials: 'same-origin',
  });
  const json: unknown = await response.json();
  if (!response.ok) {
    // IAP or Cloud Run may have answered before the function did, with no problem body: each field may be missing.
    const problem = json as Partial<Pick<ProblemBody, 'title' | 'detail'>>;
    throw new Error(problem.detail || problem.title || `HTTP ${response.status}`);
  }
  return json as T;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

function say(message: string): void {
  status.textContent = message;
}

function confirmAction(button: HTMLElement): Promise<boolean> {
  const dialog = $<HTMLDialogElement>('#confirm');
  $('#confirm-text').textContent = button.dataset.confirm ?? '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
  });
}

const label = (name: string) => name.replace('_', ' ');
const timeOf = (iso: string) => new Date(iso).getTime();
const shortTime = (ms: number) => `${new Date(ms).toISOString().slice(5, 16).replace('T', ' ')} UTC`;

async function loadStats(): Promise<void> {
  const stats = await api<StatsAnswer>('GET', 'api/stats');
  const glance = $('#glance');
  glance.replaceChildren();
  const card = (text: string, value: number, key: string) => {
    const node = el('div', null, { class: 'card', 'data-stat': key });
    node.append(el('strong', value), el('span', text));
    glance.append(node);
  };
  card('connections', stats.total, 'total');
  for (const [state, count] of Object.entries(stats.byStatus)) card(label(state), count, `status-${state}`);
  for (const [health, count] of Object.entries(stats.health)) card(`${health} (live)`, count, `health-${health}`);
  const statuses = Object.keys(stats.byStatus);
  const head = el('tr');
  head.append(el('th', 'Provider', { scope: 'col' }), ...statuses.map((s) => el('th', s, { scope: 'col' })), el('th', 'total', { scope: 'col' }));
  $('#providers thead').replaceChildren(head);
  $('#providers tbody').replaceChildren(
    ...stats.byProvider.map((row) => {
      const tr = el('tr');
      tr.append(el('th', row.provider, { scope: 'row' }), ...statuses.map((s) => el('td', row.byStatus[s])), el('td', row.total));
      return tr;
    }),
  );
}

/** An SVG with axes from fromMs..toMs and 0..maxY; returns it with the scales to place marks by. */
function frame(fromMs: number, toMs: number, maxY: number, name: string) {
  const top = Math.max(1, maxY);
  const x = (ms: number) => LEFT + ((ms - fromMs) / Math.max(1, toMs - fromMs)) * (W - LEFT - RIGHT);
  const y = (value: number) => H - BOTTOM - (value / top) * (H - TOP - BOTTOM);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'data-chart': name, preserveAspectRatio: 'xMidYMid meet' });
  for (const value of [0, top / 2, top]) {
    chart.append(svg('line', { class: value === 0 ? 'axis' : 'grid', x1: LEFT, x2: W - RIGHT, y1: y(value), y2: y(value) }));
    chart.append(svg('text', { x: LEFT - 6, y: y(value) + 4, 'text-anchor': 'end' }, Number.isInteger(value) ? value : value.toFixed(1)));
  }
  chart.append(svg('line', { class: 'axis', x1: LEFT, x2: LEFT, y1: TOP, y2: H - BOTTOM }));
  chart.append(svg('text', { x: LEFT, y: H - 8, 'text-anchor': 'start' }, shortTime(fromMs)));
  chart.append(svg('text', { x: W - RIGHT, y: H - 8, 'text-anchor': 'end' }, shortTime(toMs)));
  return { chart, x, y };
}

function tableRows(figure: HTMLElement, rows: readonly (readonly (string | number)[])[]): void {
  $('tbody', figure).replaceChildren(
    ...rows.map(([first, ...rest]) => {
      const tr = el('tr');
      tr.append(el('th', first, { scope: 'row' }), ...rest.map((cell) => el('td', cell)));
      return tr;
    }),
  );
}

const countOf = (run: HistorySnapshot, name: string) => run.byStatus[name] ?? 0;

function drawStatusChart(history: HistoryAnswer, runs: readonly HistorySnapshot[], fromMs: number, toMs: number): void {
  const figure = $('#status-chart');
  const latest = runs.at(-1);
  if (latest === undefined) return;
  const maxY = Math.max(...runs.map((run) => Math.max(...STATUSES.map((s) => countOf(run, s)))));
  const { chart, x, y } = frame(fromMs, toMs, maxY, 'status');
  for (const name of STATUSES) {
    const points = runs.map((run) => `${x(timeOf(run.at)).toFixed(1)},${y(countOf(run, name)).toFixed(1)}`);
    chart.append(svg('polyline', { class: `line series-${name}`, points: points.join(' '), 'data-status': name, 'data-points': points.length }));
    if (runs.length <= MAX_MARKERS) {
      for (const run of runs) chart.append(svg('circle', { class: `point series-${name}`, cx: x(timeOf(run.at)), cy: y(countOf(run, name)), r: 2.5 }));
    }
  }
  chart.setAttribute(
    'aria-label',
    `Connections by status over the last ${history.hours} hours, ${runs.length} sweep runs. Latest, ${shortTime(timeOf(latest.at))}: ` +
      `${STATUSES.map((s) => `${countOf(latest, s)} ${label(s)}`).join(', ')}.`,
  );
  $('.chart-canvas', figure).replaceChildren(chart);
  tableRows(figure, runs.slice(-TABLE_ROWS).reverse().map((run) => [run.at, run.kind, ...STATUSES.map((s) => countOf(run, s))]));
  figure.hidden = false;
}

function drawOutcomeChart(history: HistoryAnswer, fromMs: number, toMs: number): void {
  const figure = $('#outcome-chart');
  const runs = history.snapshots.filter((run): run is RefreshSnapshot => run.kind === 'refresh');
  const canvas = $('.chart-canvas', figure);
  $('.chart-empty', figure).hidden = runs.length > 0;
  figure.hidden = false;
  const latest = runs.at(-1);
  if (latest === undefined) {
    canvas.replaceChildren();
    tableRows(figure, []);
    return;
  }
  const maxY = Math.max(...runs.map(({ run }) => run.refreshed + run.failed));
  const { chart, x, y } = frame(fromMs, toMs, maxY, 'outcomes');
  const width = Math.max(2, Math.min(12, ((W - LEFT - RIGHT) / runs.length) * 0.6));
  for (const { at, run } of runs) {
    const left = x(timeOf(at)) - width / 2;
    const refreshedTop = y(run.refreshed);
    const failedTop = y(run.refreshed + run.failed);
    chart.append(svg('rect', { class: 'bar outcome-refreshed', x: left, width, y: refreshedTop, height: y(0) - refreshedTop, 'data-value': run.refreshed }));
    chart.append(svg('rect', { class: 'bar outcome-failed', x: left, width, y: failedTop, height: refreshedTop - failedTop, 'data-value': run.failed }));
  }
  const total = (key: 'refreshed' | 'failed') => runs.reduce((sum, { run }) => sum + run[key], 0);
  chart.setAttribute(
    'aria-label',
    `Refresh outcomes per run over the last ${history.hours} hours, ${runs.length} refresh sweep runs. ` +
      `Latest: ${latest.run.refreshed} refreshed, ${latest.run.failed} failed. In all: ${total('refreshed')} refreshed, ${total('failed')} failed.`,
  );
  canvas.replaceChildren(chart);
  tableRows(figure, runs.slice(-TABLE_ROWS).reverse().map(({ at, run }) => [at, run.refreshed, run.failed, run.skipped, run.remaining]));
}

async function loadHistory(): Promise<void> {
  const history = await api<HistoryAnswer>('GET', `api/stats/history?hours=${HISTORY_HOURS}`);
  const fromMs = timeOf(history.from);
  const toMs = timeOf(history.to);
  const note = $('#history-note');
  if (history.snapshots.length === 0) {
    note.textContent = `No sweep has run in the last ${history.hours} hours yet: the charts appear after the first refresh or health sweep.`;
    $('#status-chart').hidden = true;
    $('#outcome-chart').hidden = true;
    return;
  }
  note.textContent = `${history.snapshots.length} sweep runs in the last ${history.hours} hours${history.truncated ? ' (only the latest are shown)' : ''}.`;
  drawStatusChart(history, history.snapshots, fromMs, toMs);
  drawOutcomeChart(history, fromMs, toMs);
}

function filterQuery(): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData($<HTMLFormElement>('#filters'))) if (value !== '') params.set(name, String(value));
  return params;
}

async function loadConnections(append: boolean): Promise<void> {
  const params = filterQuery();
  params.set('limit', '50');
  if (append && cursor !== null) params.set('cursor', cursor);
  const page = await api<ConnectionListAnswer>('GET', `api/connections?${params.toString()}`);
  const rows = page.connections.map((c) => {
    const tr = el('tr', null, { 'data-connection-id': c.connectionId });
    const open = el('button', 'Details', { type: 'button', 'aria-label': `Details of ${c.provider} ${c.accountId}` });
    open.addEventListener('click', () => {
      openDetail(c.connectionId).catch((error: unknown) => say(`Failed: ${messageOf(error)}`));
    });
    const cell = el('td');
    cell.append(open);
    tr.append(
      el('td', c.provider),
      el('td', c.tenantId),
      el('td', c.userId || '(tenant)'),
      el('td', c.displayName || c.accountId),
      el('td', c.status, { 'data-field': 'status' }),
      el('td', c.health.status),
      el('td', c.expiresAt || 'never'),
      cell,
    );
    return tr;
  });
  const body = $('#connections tbody');
  if (append) body.append(...rows);
  else body.replaceChildren(...rows);
  cursor = page.nextCursor;
  $('#more').hidden = cursor === null;
}

async function openDetail(connectionId: string): Promise<void> {
  const detail = await api<ConnectionDetailAnswer>('GET', `api/connections/${encodeURIComponent(connectionId)}`);
  const c = detail.connection;
  current = c;
  const fields: [string, string][] = [
    ['Id', c.connectionId],
    ['Provider', c.provider],
    ['Tenant', c.tenantId],
    ['User', c.userId || '(tenant)'],
    ['Account', c.displayName ? `${c.displayName} (${c.accountId})` : c.accountId],
    ['Scopes', c.scopes.join(' ') || '—'],
    ['Status', c.status + (c.statusReason ? ` (${c.statusReason})` : '')],
    ['Health', c.health.status + (c.health.errorCode ? ` (${c.health.errorCode})` : '')],
    ['Expires', c.expiresAt || 'never'],
    ['Last refresh', c.refresh.lastRefreshAt || '—'],
    ['Sealed with', c.sealedWithKeyVersion || 'no credentials'],
    ['Created', c.createdAt],
    ['Updated', c.updatedAt],
  ];
  $('#detail-fields').replaceChildren(...fields.flatMap(([name, value]) => [el('dt', name), el('dd', value, { 'data-field': name.toLowerCase() })]));
  $('#audit tbody').replaceChildren(
    ...detail.audit.map((entry) => {
      const tr = el('tr');
      tr.append(
        el('td', entry.at),
        el('td', entry.action),
        el('td', entry.actor.type + (entry.actor.id ? `: ${entry.actor.id}` : '')),
        el('td', entry.outcome),
        el('td', entry.reason || ''),
      );
      return tr;
    }),
  );
  $<HTMLButtonElement>('#act-revoke').disabled = c.status === 'revoked';
  $('#detail').hidden = false;
  $('#detail-title').textContent = `Connection ${c.provider} · ${c.accountId}`;
  $('#detail-title').focus();
}

async function guarded(button: HTMLButtonElement, run: () => Promise<string>): Promise<void> {
  if (!(await confirmAction(button))) {
    say('Cancelled.');
    return;
  }
  button.disabled = true;
  say('Working…');
  let message: string;
  try {
    message = await run();
  } catch (error) {
    message = `Failed: ${messageOf(error)}`;
  } finally {
    button.disabled = false;
  }
  // The outcome is announced once the page shows the state it produced.
  await Promise.all([loadStats(), loadHistory(), loadConnections(false), current ? openDetail(current.connectionId) : null]).catch((error: unknown) => {
    message += ` (reload failed: ${messageOf(error)})`;
  });
  say(message);
}

function onConfirmedClick(selector: string, run: () => Promise<string>): void {
  const button = $<HTMLButtonElement>(selector);
  button.addEventListener('click', () => void guarded(button, run));
}

function connectionAction<T>(selector: string, path: string, describe: (answer: T) => string): void {
  onConfirmedClick(selector, async () => {
    if (current === null) throw new Error('No connection is open');
    return describe(await api<T>('POST', `api/connections/${encodeURIComponent(current.connectionId)}/${path}`));
  });
}

const outcomeText = (r: ConnectionActionAnswer) => r.outcome + (r.reason ? ` (${r.reason})` : '');

connectionAction<ConnectionActionAnswer>('#act-health', 'health-check', (r) => `Health: ${outcomeText(r)}`);
connectionAction<ConnectionActionAnswer>('#act-refresh', 'refresh', (r) => `Refresh: ${outcomeText(r)}`);
connectionAction<RevokeAnswer>('#act-revoke', 'revoke', (r) => `Revoked; provider revocation: ${r.providerRevocation.outcome}`);
onConfirmedClick('#refresh-all', async () => {
  const r = await api<SweepAnswer>('POST', 'api/refresh');
  return r.ranIn === 'cloud_scheduler' ? `Started ${r.schedulerJob}` : `Refresh sweep: ${JSON.stringify(r.summary)}`;
});
onConfirmedClick('#health-all', async () => `Health sweep: ${JSON.stringify((await api<SweepAnswer>('POST', 'api/health-check')).summary)}`);
onConfirmedClick('#rewrap', async () => {
  const bar = $<HTMLProgressElement>('#rewrap-progress');
  bar.hidden = false;
  let job = await api<RewrapJobAnswer>('POST', 'api/rewrap', { maxBatches: 1 });
  for (;;) {
    bar.max = Math.max(job.total, 1);
    bar.value = job.counts.scanned;
    say(`Re-wrap ${job.jobId}: ${job.counts.scanned} of ${job.total}`);
    if (job.status === 'completed') break;
    job = await api<RewrapJobAnswer>('POST', 'api/rewrap', { jobId: job.jobId, maxBatches: 1 });
  }
  return `Re-wrap completed: ${job.counts.rewrapped} moved, ${job.counts.alreadyCurrent} already current, ${job.counts.failed} failed`;
});
$('#filters').addEventListener('submit', (event) => {
  event.preventDefault();
  loadConnections(false).catch((error: unknown) => say(`Failed: ${messageOf(error)}`));
});
$('#more').addEventListener('click', () => {
  loadConnections(true).catch((error: unknown) => say(`Failed: ${messageOf(error)}`));
});
$('#detail-title').setAttribute('tabindex', '-1');
Promise.all([loadStats(), loadHistory(), loadConnections(false)]).then(
  () => document.body.setAttribute('data-ready', 'true'),
  (error: unknown) => say(`Failed: ${messageOf(error)}`),
);
