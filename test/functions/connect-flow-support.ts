// Drives the connect flow over HTTP the way a product backend and a user's browser do, for the function tests: against
// the in-process functions (connect-harness.ts) or the local stack, whichever a test describes as a ConnectDriver.
import { expect } from 'vitest';
import { routeProviderUrl } from '../../shared/oauth/origin-overrides.js';
import { type ConnectHarness, CookieJar } from './connect-harness.js';

/** What driving a flow needs: where the functions answer, the sandbox behind them, and ID tokens for the product backend. */
export type ConnectDriver = Pick<ConnectHarness, 'origin' | 'returnUrl' | 'callbackUrl' | 'sandbox' | 'idToken'>;

export interface AuthorizeBody {
  tenantId?: string;
  userId?: string;
  provider: string;
  scopes?: string[];
  returnUrl?: string;
  connectionConfig?: Record<string, string>;
}

export async function authorize(harness: ConnectDriver, body: AuthorizeBody, token?: string): Promise<Response> {
  return fetch(`${harness.origin}/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? (await harness.idToken())}` },
    body: JSON.stringify({ tenantId: 'tenant-a', userId: 'user-1', returnUrl: harness.returnUrl, ...body }),
  });
}

export async function connectUrlFor(harness: ConnectDriver, body: AuthorizeBody): Promise<string> {
  const response = await authorize(harness, body);
  const json = (await response.json()) as { connectUrl?: string };
  expect(response.status, JSON.stringify(json)).toBe(200);
  return json.connectUrl as string;
}

export async function get(url: string, jar?: CookieJar): Promise<Response> {
  const cookie = jar?.header();
  const response = await fetch(url, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } });
  jar?.store(response);
  return response;
}

/** Opens the start URL: the browser gets its binding cookie and is sent to the provider. */
export async function openStart(harness: ConnectDriver, connectUrl: string, jar: CookieJar): Promise<URL> {
  const response = await get(connectUrl, jar);
  expect(response.status).toBe(302);
  return new URL(response.headers.get('location') as string);
}

/** Plays the user at the provider's consent page; returns the redirect back to the broker's callback. */
export async function consentAtProvider(
  harness: ConnectDriver,
  providerUrl: URL,
  decision: 'approve' | 'deny' = 'approve',
  account = 'alice',
): Promise<URL> {
  const scripted = new URL(providerUrl);
  scripted.searchParams.set('sandbox_decision', decision);
  scripted.searchParams.set('sandbox_account', account);
  // The start step already routed the browser to the sandbox; a production URL is routed here the same way.
  const target = scripted.protocol === 'https:' ? routeProviderUrl(scripted.href, new Map(Object.entries(harness.sandbox.originOverrides))) : scripted;
  expect(target.origin).toBe(harness.sandbox.origin);
  const response = await fetch(target, { redirect: 'manual' });
  expect(response.status).toBe(302);
  const back = new URL(response.headers.get('location') as string);
  expect(`${back.origin}${back.pathname}`).toBe(harness.callbackUrl);
  return back;
}

export interface FlowEnd {
  readonly response: Response;
  /** Where the browser is sent: the product's return URL with the outcome. */
  readonly location: URL | undefined;
  readonly callbackUrl: URL;
}

export async function finishAtCallback(callbackUrl: URL, jar: CookieJar): Promise<FlowEnd> {
  const response = await get(callbackUrl.href, jar);
  const location = response.headers.get('location');
  return { response, location: location === null ? undefined : new URL(location), callbackUrl };
}

/** authorize → start → consent → callback, in one browser. */
export async function connectThroughBrowser(
  harness: ConnectDriver,
  body: AuthorizeBody,
  options: { decision?: 'approve' | 'deny'; account?: string; jar?: CookieJar } = {},
): Promise<FlowEnd & { jar: CookieJar; connectUrl: string }> {
  const jar = options.jar ?? new CookieJar();
  const connectUrl = await connectUrlFor(harness, body);
  const providerUrl = await openStart(harness, connectUrl, jar);
  const back = await consentAtProvider(harness, providerUrl, options.decision ?? 'approve', options.account ?? 'alice');
  return { ...(await finishAtCallback(back, jar)), jar, connectUrl };
}

export async function allConnections(harness: ConnectHarness) {
  const snapshot = await harness.firestore.collection('connections').get();
  return snapshot.docs.map((doc) => ({ id: doc.id, data: doc.data() }));
}

export async function allFlows(harness: ConnectHarness) {
  const snapshot = await harness.firestore.collection('authFlows').get();
  return snapshot.docs.map((doc) => ({ id: doc.id, ref: doc.ref, data: doc.data() }));
}
