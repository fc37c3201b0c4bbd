// The local stand-in for Identity-Aware Proxy in front of the admin function: /iap/admin/... is forwarded to
// the admin function with a freshly signed assertion for the local operator, exactly the header IAP would add.
// Local only: it signs anyone in who can reach the loopback port under the stack's own name, which is the point of a
// local stack; a page on another name (DNS rebinding) is refused, or any website could drive the admin API.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { IAP_ASSERTION_HEADER } from '../shared/auth/iap-assertion.js';
import { forwardRequest } from './front-proxy.js';
import { admitOwnHost, ownHosts } from './own-host.js';

export interface LocalIapProxyOptions {
  /** Mints the assertion for the signed-in operator. */
  readonly mint: () => Promise<string>;
  /** The admin function's own origin (its process). */
  readonly adminOrigin: string;
  /** The stack's origin, as browsers address it: requests naming another host are refused. */
  readonly stackOrigin: string;
}

export function createLocalIapProxy(options: LocalIapProxyOptions): RequestListener {
  const hosts = ownHosts(options.stackOrigin);
  return (req: IncomingMessage, res: ServerResponse) => {
    if (!admitOwnHost(req, res, hosts)) return;
    const url = new URL(req.url ?? '/', 'http://local');
    const [, target = '', ...rest] = url.pathname.split('/');
    if (target !== 'admin') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('The local IAP stand-in fronts /iap/admin/ only\n');
      return;
    }
    // Like IAP: whatever the client sent in this header (every copy) is replaced, never passed through.
    options.mint().then(
      (assertion) => forwardRequest(req, res, { origin: options.adminOrigin }, `/${rest.join('/')}${url.search}`, { [IAP_ASSERTION_HEADER]: assertion }),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('The local IAP stand-in could not sign an assertion\n'),
    );
  };
}
