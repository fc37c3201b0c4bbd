// The stack's one origin: /<function>/... is forwarded to that function's own process (each at its own root, as on
// Cloud Run), and local-only pages (the demo, the IAP stand-in) are served beside them. Bodies stream both ways.
// Like Cloud Run's front end, it hands a function at most its configured number of requests at once and holds the
// rest here, in arrival order, so a burst never lands inside the function's process.
import { Agent, createServer, type IncomingMessage, request, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FrontProxy {
  readonly origin: string;
  readonly port: number;
  /**
   * Sends /<name>/... to `targetOrigin`, with the /<name> prefix removed, at most `concurrency` at once (Cloud Run's
   * max_instance_request_concurrency, the function manifest's `concurrency`); the rest wait here.
   */
  route(name: string, targetOrigin: string, concurrency: number): void;
  /** Serves a local-only page or endpoint at /<prefix>. */
  mountLocal(prefix: string, listener: RequestListener): void;
  stop(): Promise<void>;
}

/** Node's default accept backlog (511) drops part of a burst of new connections (the load bench opens 1,000 at once). */
const LISTEN_BACKLOG = 4096;
/** Headers that describe one hop of the connection, not the request (RFC 9110 §7.6.1). */
const hopByHop = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ type: 'urn:oauth-broker:problem:not_found', title: 'No such function', status: 404, code: 'not_found' }));
}

/**
 * Forwards one request to `targetOrigin` + `path` and streams the answer back. Header lines go as they came, repeats
 * included (Node's parsed `headers` would keep one `Authorization` of two), except hop-by-hop ones and those that
 * `replace` sets instead.
 */
export function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  target: { readonly origin: string; readonly agent?: Agent },
  path: string,
  replace: Readonly<Record<string, string>> = {},
): void {
  const replaced = new Set(Object.keys(replace).map((name) => name.toLowerCase()));
  const headers: string[] = [];
  for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
    const name = req.rawHeaders[index] as string;
    if (hopByHop.includes(name.toLowerCase()) || replaced.has(name.toLowerCase())) continue;
    headers.push(name, req.rawHeaders[index + 1] as string);
  }
  for (const [name, value] of Object.entries(replace)) headers.push(name, value);
  let abandoned = false;
  const upstream = request(`${target.origin}${path}`, { method: req.method, headers, agent: target.agent }, (answer) => {
    const answerHeaders = { ...answer.headers };
    for (const name of hopByHop) delete answerHeaders[name];
    res.writeHead(answer.statusCode ?? 502, answerHeaders);
    answer.pipe(res);
    // A function may answer before it has read the whole body (a refused upload). Forwarding the rest is pointless,
    // and would stall: Node's client emits no 'drain' once its response has ended. Drop the upstream request and
    // discard what the client still sends, so its connection stays usable for its next request.
    answer.once('end', () => {
      if (req.complete) return;
      abandoned = true;
      req.unpipe(upstream);
      upstream.destroy();
      req.resume();
    });
  });
  upstream.on('error', () => {
    if (abandoned) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(502, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ type: 'urn:oauth-broker:problem:unavailable', title: 'The function is not answering', status: 502, code: 'unavailable' }));
  });
  // A caller that goes away while its request waits for a turn gives the turn up: the request is never sent.
  res.once('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/**
 * An idle connection to a function is dropped after this long, before the function's server drops it (Node's
 * keepAliveTimeout, 5 s): otherwise a request sent just as the server closes the connection fails (a 502 seen in a run).
 */
const IDLE_CONNECTION_MS = 4_000;

/**
 * One function's turns: keep-alive connections to its process, never more than `concurrency` at once. Node's agent
 * queues the requests beyond that in order and hands each the next free connection.
 */
function functionTarget(origin: string, concurrency: number): { origin: string; agent: Agent } {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`a function's concurrency must be a positive integer, got ${concurrency}`);
  return { origin, agent: new Agent({ keepAlive: true, maxSockets: concurrency, timeout: IDLE_CONNECTION_MS }) };
}

export async function startFrontProxy(options: { port: number; host?: string }): Promise<FrontProxy> {
  const routes = new Map<string, { origin: string; agent: Agent }>();
  const locals = new Map<string, RequestListener>();

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, first = '', ...rest] = url.pathname.split('/');
    const target = routes.get(first);
    if (target !== undefined) {
      forwardRequest(req, res, target, `/${rest.join('/')}${url.search}`);
      return;
    }
    const local = locals.get(first);
    if (local === undefined) {
      notFound(res);
      return;
    }
    req.url = `/${rest.join('/')}${url.search}`;
    local(req, res);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host, backlog: LISTEN_BACKLOG }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    port,
    route: (name, targetOrigin, concurrency) => void routes.set(name, functionTarget(targetOrigin, concurrency)),
    mountLocal(prefix, listener) {
      if (routes.has(prefix)) throw new TypeError(`${prefix} is a function name`);
      locals.set(prefix, listener);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const { agent } of routes.values()) agent.destroy();
        server.close(() => resolve());
      }),
  };
}
