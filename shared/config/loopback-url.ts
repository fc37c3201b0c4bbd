// Plain http is allowed only towards this machine: the one rule every URL setting and provider endpoint shares.

const loopbackHostname = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/;

/** Whether a host name (as `URL.hostname` spells it, IPv6 in brackets) is this machine. */
export function isLoopbackHostname(hostname: string): boolean {
  return loopbackHostname.test(hostname);
}

/**
 * https anywhere, or http on loopback (a local peer, the sandbox, a stand-in): traffic that never leaves the machine
 * cannot be read on the way, and anything else in plain http could.
 */
export function isHttpsOrLoopbackHttp(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHostname(url.hostname));
}
