// A product backend and a browser driving the local stack over HTTP only: calls with ID tokens minted for each
// function's URL, the connect link's browser steps, the product's confirmation of its user, token reads.
import { join } from 'node:path';
import { expect } from 'vitest';
import { createIdTokenSigner } from '../../local/id-token-issuer.js';
import type { LocalStack } from '../../local/local-stack.js';

const redirects = [302, 303];

/** What the provider's consent step does with the authorization URL: the URL the provider redirects back to. */
export type ProviderConsent = (authorizationUrl: URL) => Promise<URL>;

export interface StackHttp {
  mint(email: string, functionName: string): Promise<string>;
  call(functionName: string, path: string, body: unknown, as?: string): Promise<Response>;
  /** authorize, then the browser: the start step, the provider's consent, the callback; returns the final redirect. */
  connectInBrowser(
    provider: string,
    userId: string,
    consent: ProviderConsent,
    steps?: { afterAuthorize?: () => void; afterStart?: () => void; beforeCallback?: (callback: URL) => URL; connectionConfig?: Record<string, string> },
  ): Promise<URL>;
  /** The product's side of a connect (confirmation is on for every tenant by default): it confirms its signed-in user. */
  confirmAsProduct(end: URL, userId: string): Promise<{ connectionId: string; outcome: string }>;
  readToken(request: Record<string, unknown>): Promise<{ accessToken: string; connectionId: string; expiresAt: string | null }>;
}

export async function createStackHttp(stack: LocalStack, stateDir: string, tenantId: string): Promise<StackHttp> {
  const origin = () => stack.description.functionsOrigin;
  const signer = await createIdTokenSigner({ dataDir: join(stateDir, 'id-token-issuer') });
  const mint = (email: string, functionName: string) => signer.mint({ email, audience: `${origin()}/${functionName}` });
  const call = async (functionName: string, path: string, body: unknown, as: string = stack.description.demoCaller) =>
    fetch(`${origin()}/${functionName}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await mint(as, functionName)}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  return {
    mint,
    call,
    async connectInBrowser(provider, userId, consent, steps = {}) {
      const config = steps.connectionConfig === undefined ? {} : { connectionConfig: steps.connectionConfig };
      const started = await call('authorize', '', { tenantId, userId, provider, returnUrl: stack.description.returnUrl, ...config });
      expect(started.status).toBe(200);
      const { connectUrl } = (await started.json()) as { connectUrl: string };
      steps.afterAuthorize?.();
      const start = await fetch(connectUrl, { redirect: 'manual' });
      expect(redirects).toContain(start.status);
      steps.afterStart?.();
      const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
      const returned = await consent(new URL(start.headers.get('location') as string));
      const callback = steps.beforeCallback?.(returned) ?? returned;
      expect(`${callback.origin}${callback.pathname}`).toBe(stack.description.callbackUrl);
      const finished = await fetch(callback, { redirect: 'manual', headers: { cookie } });
      expect(redirects).toContain(finished.status);
      return new URL(finished.headers.get('location') as string);
    },
    async confirmAsProduct(end, userId) {
      expect(end.searchParams.get('outcome')).toBe('pending_confirmation');
      const confirmed = await call('connections', '/confirm', { tenantId, flowId: end.searchParams.get('flow_id'), userId });
      expect(confirmed.status).toBe(200);
      return (await confirmed.json()) as { connectionId: string; outcome: string };
    },
    async readToken(request) {
      const response = await call('token', '', { tenantId, ...request });
      expect(response.status).toBe(200);
      return (await response.json()) as { accessToken: string; connectionId: string; expiresAt: string | null };
    },
  };
}

/** The sandbox's consent page, approved as `sandbox_decision=approve` stands in for the user clicking Allow. */
export function sandboxApproves(stack: LocalStack): ProviderConsent {
  return async (consent) => {
    expect(consent.origin).toBe(stack.description.providerSandbox.origin);
    consent.searchParams.set('sandbox_decision', 'approve');
    const approved = await fetch(consent, { redirect: 'manual' });
    expect(redirects).toContain(approved.status);
    return new URL(approved.headers.get('location') as string);
  };
}
