// The keep-alive agents every call to a provider goes through (OAuth endpoints and proxied API calls alike): one pool
// of sockets per origin for the process.
//
// Idle sockets are closed after IDLE_SOCKET_MS, sooner when the server's Keep-Alive header says so: a request sent on
// a socket the server has just closed fails without having reached it. Node's own servers close idle sockets after 5 s.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

const IDLE_SOCKET_MS = 4_000;
const agents = {
  'http:': new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  'https:': new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
} as const;

/** The agent for `url`'s protocol; undefined for anything but http and https. */
export function providerAgentFor(url: URL): HttpAgent | undefined {
  return url.protocol === 'https:' ? agents['https:'] : url.protocol === 'http:' ? agents['http:'] : undefined;
}
