// The cookie that binds a connect flow to the browser that opened its start URL.
//
// One cookie per flow (named after a prefix of the flow id, which is a hash and no secret), so two flows
// started in two tabs do not overwrite each other's binding. `__Host-` pins it to the callback's host and
// path `/`, and needs `Secure`: browsers accept Secure cookies from https and from http on loopback
// (Chromium treats http://127.0.0.1 and http://localhost as secure contexts; the browser test checks it).
const COOKIE_PREFIX = '__Host-broker-flow-';
const FLOW_ID_CHARS = 16;

export function flowCookieName(flowId: string): string {
  return `${COOKIE_PREFIX}${flowId.slice(0, FLOW_ID_CHARS)}`;
}

/** The value of one cookie from a `Cookie` header; undefined when absent or sent more than once. */
export function readCookie(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  const values = cookieHeader
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair.startsWith(`${name}=`))
    .map((pair) => pair.slice(name.length + 1));
  // Two cookies of one name cannot both be ours (a __Host- cookie is unique per host): refuse to choose.
  return values.length === 1 ? values[0] : undefined;
}

export function setFlowCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Max-Age=${Math.max(1, Math.floor(maxAgeSeconds))}; Path=/; Secure; HttpOnly; SameSite=Lax`;
}

export function clearFlowCookie(name: string): string {
  return `${name}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax`;
}
