// The local demo product (served by `npm start` at /demo, never deployed): pick a sandbox provider, connect,
// land back, see the connection. It plays a product backend: it calls authorize and connections server-side
// with an ID token minted by the local issuer for the demo caller, exactly as a real backend would — including
// confirming its signed-in user when a flow comes back `pending_confirmation` (docs/connect-confirmation.md).
import { createHash } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { admitOwnHost, ownHosts } from '../own-host.js';
import { SMART_BASE } from '../provider-sandbox/profiles.js';

export interface DemoPageOptions {
  /** Where the functions answer, e.g. http://127.0.0.1:8080 (authorize at /authorize, connections at /connections). */
  readonly functionsOrigin: string;
  readonly tenantId: string;
  /** The demo's one user. */
  readonly userId: string;
  readonly providers: readonly string[];
  /** An ID token of the demo caller for the given audience. */
  mintIdToken(audience: string): Promise<string>;
}

const STYLE =
  'body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}' +
  'table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}' +
  '.outcome{padding:.5rem 1rem;background:#eef}code{background:#eee;padding:0 .2rem}';
const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self' http: https:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** A scope or two beyond the defaults, so the demo shows what a product would ask for. */
const demoScopes: Readonly<Record<string, readonly string[]>> = {
  slack: ['chat:write', 'channels:read'],
  google: ['https://www.googleapis.com/auth/gmail.readonly'],
  github: ['repo'],
};

/** Per-connection config some sandbox providers need. */
const demoConnectionConfig: Readonly<Record<string, Record<string, string>>> = {
  smart_on_fhir: { fhirBaseUrl: SMART_BASE },
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface ListedConnection {
  connectionId: string;
  provider: string;
  accountId: string;
  displayName: string | null;
  scopes: string[];
  status: string;
  statusReason?: string | null;
  health: { status: string };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16_384) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'content-security-policy': CSP,
  });
  res.end(html);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export function createDemoPage(options: DemoPageOptions): RequestListener {
  const demoOrigin = options.functionsOrigin;
  // It acts as the demo user with the demo backend's identity: only for pages of the stack itself, never for a page
  // on another name that resolves to loopback (DNS rebinding), to which its requests would look same-origin.
  const hosts = ownHosts(demoOrigin);
  const call = async (functionName: 'authorize' | 'connections', path: string, init: { method: 'GET' | 'POST'; body?: unknown }) => {
    const audience = `${options.functionsOrigin}/${functionName}`;
    const token = await options.mintIdToken(audience);
    const response = await fetch(`${audience}${path}`, {
      method: init.method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  const listConnections = async (): Promise<ListedConnection[]> => {
    const query = new URLSearchParams({ tenantId: options.tenantId, userId: options.userId });
    const { status, json } = await call('connections', `/?${query}`, { method: 'GET' });
    if (status !== 200) throw new Error(`connections answered ${status}: ${String(json.code)}`);
    return json.connections as ListedConnection[];
  };

  const connectionsTable = (connections: readonly ListedConnection[], highlight: string | null) =>
    connections.length === 0
      ? '<p id="no-connections">No connections yet.</p>'
      : '<table id="connections"><thead><tr><th>Provider</th><th>Account</th><th>Scopes</th><th>Status</th><th>Health</th><th></th></tr></thead><tbody>' +
        connections
          .map(
            (c) =>
              `<tr data-connection-id="${escapeHtml(c.connectionId)}"${c.connectionId === highlight ? ' class="new"' : ''}>` +
              `<td>${escapeHtml(c.provider)}</td><td>${escapeHtml(c.displayName ?? c.accountId)}</td>` +
              `<td>${escapeHtml(c.scopes.join(' '))}</td><td>${escapeHtml(c.status)}${c.statusReason ? ` (${escapeHtml(c.statusReason)})` : ''}</td><td>${escapeHtml(c.health.status)}</td>` +
              `<td><form method="post" action="/demo/disconnect"><input type="hidden" name="connectionId" value="${escapeHtml(c.connectionId)}">` +
              '<button type="submit">Disconnect</button></form></td></tr>',
          )
          .join('') +
        '</tbody></table>';

  const home = async (outcome: URLSearchParams | undefined): Promise<string> => {
    const connections = await listConnections();
    const options_ = options.providers.map((id) => `<option value="${escapeHtml(id)}">${escapeHtml(id)}</option>`).join('');
    let banner = '';
    if (outcome !== undefined) {
      const result = outcome.get('outcome') ?? 'unknown';
      const error = outcome.get('error');
      banner =
        `<p class="outcome" id="outcome" data-outcome="${escapeHtml(result)}">Outcome: <strong>${escapeHtml(result)}</strong>` +
        (error ? ` (error <code>${escapeHtml(error)}</code>)` : '') +
        '</p>';
    }
    return page(
      'oauth-broker demo',
      '<h1>oauth-broker demo product</h1>' +
        `<p>Signed in as <code>${escapeHtml(options.userId)}</code> of tenant <code>${escapeHtml(options.tenantId)}</code>. ` +
        'The built-in providers are played by the local sandbox (no real account is involved); providers you configured (OIDC_PROVIDERS) are listed too.</p>' +
        banner +
        '<form method="post" action="/demo/connect" id="connect-form"><label>Provider <select name="provider" id="provider">' +
        options_ +
        '</select></label> <button type="submit" id="connect">Connect</button></form>' +
        '<h2>Connections</h2>' +
        connectionsTable(connections, outcome?.get('connection_id') ?? null),
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!admitOwnHost(req, res, hosts)) return;
    const url = new URL(req.url ?? '/', demoOrigin);
    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '')) {
      send(res, 200, await home(undefined));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/connected') {
      const flowId = url.searchParams.get('flow_id');
      if (url.searchParams.get('outcome') === 'pending_confirmation' && flowId !== null) {
        // The return page of a real product does this server-side with its session's user: the broker stores the
        // connection only when that is the user the flow was started for. The flow id then leaves the address bar.
        const { status, json } = await call('connections', '/confirm', {
          method: 'POST',
          body: { tenantId: options.tenantId, flowId, userId: options.userId },
        });
        const outcome: Record<string, string> =
          status === 200 ? { outcome: String(json.outcome), connection_id: String(json.connectionId) } : { outcome: 'failed', error: String(json.code) };
        res.writeHead(303, { location: `/demo/connected?${new URLSearchParams(outcome)}`, 'cache-control': 'no-store' }).end();
        return;
      }
      send(res, 200, await home(url.searchParams));
      return;
    }
    if (req.method === 'POST' && (url.pathname === '/connect' || url.pathname === '/disconnect')) {
      // A cross-site form must not start flows or disconnect on the demo user's behalf. With no-referrer pages,
      // browsers send `Origin: null` on form posts, so Fetch Metadata decides; the Origin check covers old clients.
      const sameOrigin = req.headers['sec-fetch-site'] === 'same-origin' || req.headers.origin === demoOrigin;
      if (!sameOrigin) {
        send(res, 403, page('Refused', '<p>Cross-origin form posts are refused.</p>'));
        return;
      }
      const form = await readForm(req);
      if (url.pathname === '/disconnect') {
        await call('connections', '/disconnect', { method: 'POST', body: { tenantId: options.tenantId, connectionId: form.get('connectionId') } });
        res.writeHead(303, { location: '/demo/' }).end();
        return;
      }
      const provider = form.get('provider') ?? '';
      const { status, json } = await call('authorize', '', {
        method: 'POST',
        body: {
          tenantId: options.tenantId,
          userId: options.userId,
          provider,
          returnUrl: `${demoOrigin}/demo/connected`,
          ...(demoScopes[provider] ? { scopes: demoScopes[provider] } : {}),
          ...(demoConnectionConfig[provider] ? { connectionConfig: demoConnectionConfig[provider] } : {}),
        },
      });
      if (status !== 200) {
        send(res, 400, page('Could not connect', `<p>authorize answered ${status}: <code>${escapeHtml(String(json.code))}</code></p><p><a href="/demo/">Back</a></p>`));
        return;
      }
      res.writeHead(303, { location: String(json.connectUrl), 'cache-control': 'no-store' }).end();
      return;
    }
    send(res, 404, page('Not found', '<p>Not found. <a href="/demo/">Demo home</a></p>'));
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      process.stderr.write(`demo page: ${error instanceof Error ? error.message : String(error)}\n`);
      if (!res.headersSent) send(res, 500, page('Demo error', '<p>The demo page failed; see the terminal.</p>'));
      else res.end();
    });
  };
}
