// Contract-test plumbing: one sandbox per file, a fresh runtime per test, and a browser stand-in for consent.
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { buildAuthorizationRequest } from '../../../shared/oauth/authorization-request.js';
import { validateAuthorizationResponse } from '../../../shared/oauth/authorization-response.js';
import { exchangeCode } from '../../../shared/oauth/grants.js';
import { createOAuthRuntime, type OAuthRuntime } from '../../../shared/oauth/oauth-runtime.js';
import { routeProviderUrl } from '../../../shared/oauth/origin-overrides.js';
import type { ClientCredentials, ConnectedGrant } from '../../../shared/oauth/token-set.js';
import { parseConnectionConfig, type ConnectionConfig } from '../../../shared/providers/connection-config.js';
import type { ProviderDefinition } from '../../../shared/providers/definition-schema.js';
import { createProviderCatalog, type ProviderCatalog } from '../../../shared/providers/registry.js';
import { SANDBOX_ENDPOINT_ALLOWLIST } from '../../../local/provider-sandbox/profiles.js';
import { type ProviderSandbox, startProviderSandbox } from '../../../local/provider-sandbox/provider-sandbox.js';

export const REDIRECT_URI = 'https://broker.example.test/callback';

export interface ConnectOptions {
  readonly config?: Record<string, string>;
  readonly scopes?: readonly string[];
  readonly account?: string;
}

export interface Connected {
  readonly provider: ProviderDefinition;
  readonly connectionConfig: ConnectionConfig;
  readonly credentials: ClientCredentials;
  readonly grant: ConnectedGrant;
  readonly authorizationUrl: URL;
}

export interface SandboxHarness {
  readonly catalog: ProviderCatalog;
  readonly sandbox: ProviderSandbox;
  /** Replaced before each test; a test may swap in one with other options (a short timeout). */
  runtime: OAuthRuntime;
  /** Registers a client for the provider in the sandbox and returns its credentials. */
  client(provider: string): ClientCredentials;
  /** Follows an authorization URL as a browser would, with the sandbox's scripted decision; returns the callback query. */
  authorize(url: string, decision: 'approve' | 'deny', account?: string): Promise<URLSearchParams>;
  /** The whole authorization-code flow through the real shared/oauth code. */
  connect(providerId: string, options?: ConnectOptions): Promise<Connected>;
}

export function useProviderSandbox(): SandboxHarness {
  let sandbox: ProviderSandbox | undefined;
  const overrides = () => new Map(Object.entries(harness.sandbox.originOverrides));
  const harness: SandboxHarness = {
    catalog: createProviderCatalog([], SANDBOX_ENDPOINT_ALLOWLIST),
    get sandbox(): ProviderSandbox {
      if (!sandbox) throw new Error('the sandbox starts in beforeAll');
      return sandbox;
    },
    runtime: createOAuthRuntime(),
    client(provider) {
      const credentials = { clientId: `${provider}-client`, clientSecret: `${provider}-secret-${'s'.repeat(12)}` };
      harness.sandbox.registerClient(provider, { ...credentials, redirectUris: [REDIRECT_URI] });
      return credentials;
    },
    async authorize(url, decision, account = 'alice') {
      const scripted = new URL(url);
      scripted.searchParams.set('sandbox_decision', decision);
      scripted.searchParams.set('sandbox_account', account);
      const response = await fetch(routeProviderUrl(scripted.href, harness.runtime.http.overrides), { redirect: 'manual' });
      expect(response.status).toBe(302);
      const location = new URL(response.headers.get('location') ?? '');
      expect(location.origin + location.pathname).toBe(REDIRECT_URI);
      return location.searchParams;
    },
    async connect(providerId, options = {}) {
      const runtime = harness.runtime;
      const provider = harness.catalog.resolve(providerId);
      const connectionConfig = parseConnectionConfig(provider, options.config ?? {});
      const credentials = harness.client(providerId);
      const state = runtime.ids.secretToken(24);
      const request = await buildAuthorizationRequest(runtime, provider, {
        clientId: credentials.clientId,
        redirectUri: REDIRECT_URI,
        scopes: options.scopes ?? [],
        state,
        connectionConfig,
      });
      const params = await harness.authorize(request.url, 'approve', options.account);
      const { code } = await validateAuthorizationResponse(runtime, provider, { params, expectedState: state, connectionConfig });
      const grant = await exchangeCode(runtime, provider, {
        client: credentials,
        code,
        redirectUri: REDIRECT_URI,
        requestedScopes: request.scopes,
        connectionConfig,
        ...(request.codeVerifier ? { codeVerifier: request.codeVerifier } : {}),
        ...(request.nonce ? { nonce: request.nonce } : {}),
      });
      return { provider, connectionConfig, credentials, grant, authorizationUrl: new URL(request.url) };
    },
  };
  beforeAll(async () => {
    sandbox = await startProviderSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(() => {
    harness.sandbox.reset();
    harness.runtime = createOAuthRuntime({ overrides: overrides(), timeoutMs: 2_000 });
  });
  return harness;
}
