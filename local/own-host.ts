// The local stack's answer to DNS rebinding: a page on a name of its own that resolves to loopback reaches the
// stack's port too, and to the browser its requests are same-origin; only the Host header tells them apart.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The Host values a request to the stack at `origin` may carry: its own host[:port], and localhost on that port. */
export function ownHosts(origin: string): ReadonlySet<string> {
  const { host, port } = new URL(origin);
  return new Set([host, port === '' ? 'localhost' : `localhost:${port}`]);
}

/** True for a request addressed to one of `hosts`; anything else is answered 421 here (and false returned). */
export function admitOwnHost(req: IncomingMessage, res: ServerResponse, hosts: ReadonlySet<string>): boolean {
  const host = req.headers.host?.toLowerCase();
  if (host !== undefined && hosts.has(host)) return true;
  res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  // The foreign name is not echoed: it is the attacker's to choose.
  res.end(`Misdirected request: this local stack answers only as ${[...hosts].join(' or ')}; a page on another name is refused (DNS rebinding).\n`);
  return false;
}
