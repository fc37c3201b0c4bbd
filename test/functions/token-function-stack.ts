// The token function served by the real Functions Framework over the emulator, KMS stand-in, sandbox and a local ID-token issuer.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { vi } from 'vitest';
import type { CallerPolicyRule } from '../../shared/config/caller-policy-schema.js';
import { createVault, type Vault } from '../../shared/crypto/vault.js';
import { systemClock } from '../../shared/time/clock.js';
import type { FirestoreTestProject } from '../support/firestore-test-project.js';
import { type IdTokenIssuer, startIdTokenIssuer } from '../../local/id-token-issuer.js';
import { type KmsStandin, startKmsStandin } from '../../local/kms-standin/server.js';
import { type ProviderSandbox, startProviderSandbox } from '../../local/provider-sandbox/provider-sandbox.js';
import { registerSandboxClient } from '../support/connection-fixtures.js';

const KEY_NAME = 'projects/broker-test/locations/global/keyRings/broker/cryptoKeys/tokens';

export interface TokenFunctionStack {
  readonly url: string;
  readonly audience: string;
  readonly issuer: IdTokenIssuer;
  readonly sandbox: ProviderSandbox;
  readonly kms: KmsStandin;
  /** A vault on the same key, for writing fixtures the function can open. */
  readonly vault: Vault;
  readonly clients: Readonly<Record<string, { clientId: string; clientSecret: string }>>;
  /** POSTs a JSON body with `Authorization: Bearer <ID token of email>`. */
  post(body: unknown, options?: { email?: string; headers?: Record<string, string> }): Promise<Response>;
  stop(): Promise<void>;
}

export interface TokenFunctionStackOptions {
  readonly project: FirestoreTestProject;
  readonly callerPolicy: readonly CallerPolicyRule[];
  readonly providers: readonly string[];
  /** The ID-token audience the function accepts; its own URL when absent (what the client library asks for). */
  readonly audience?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export async function startTokenFunctionStack(options: TokenFunctionStackOptions): Promise<TokenFunctionStack> {
  const [sandbox, kms, issuer] = await Promise.all([startProviderSandbox(), startKmsStandin(), startIdTokenIssuer()]);
  kms.ensureKey(KEY_NAME);
  const clients: Record<string, { clientId: string; clientSecret: string }> = {};
  const clientEnv: Record<string, string> = {};
  for (const provider of options.providers) {
    const { client, env } = registerSandboxClient(sandbox, provider);
    clients[provider] = client;
    Object.assign(clientEnv, env);
  }
  const { config } = options.project;
  const env: Record<string, string> = {
    GOOGLE_CLOUD_PROJECT: options.project.projectId,
    FIRESTORE_EMULATOR_HOST: config.firestore.emulatorHost ?? '',
    KMS_KEY_NAME: KEY_NAME,
    KMS_API_ENDPOINT: kms.endpoint,
    ID_TOKEN_ISSUER: issuer.issuer,
    ID_TOKEN_JWKS_URL: issuer.jwksUrl,
    CALLER_POLICY: JSON.stringify(options.callerPolicy),
    PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(sandbox.originOverrides),
    PROVIDER_ENDPOINT_ALLOWLIST: JSON.stringify(sandbox.endpointAllowlist),
    METADATA_SERVER_DETECTION: 'none',
    LOG_LEVEL: 'ERROR',
    ...clientEnv,
    ...options.env,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  // The audience must be known when the module loads (config is read once per process).
  const audience = options.audience ?? 'https://token.broker.test';
  vi.stubEnv('ID_TOKEN_AUDIENCES', audience);
  await import('../../functions/token.js');
  const server: Server = getTestServer('token');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const vault = createVault(
    { kms: { keyName: KEY_NAME, apiEndpoint: kms.endpoint, dataKeyCacheMaxEntries: 100, dataKeyCacheTtlMs: 300_000 } },
    { clock: systemClock },
  );
  return {
    url,
    audience,
    issuer,
    sandbox,
    kms,
    vault,
    clients,
    post: async (body, postOptions = {}) => {
      const token = await issuer.mint({ email: postOptions.email ?? 'reader@acme-prod.iam.gserviceaccount.com', audience });
      return fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...postOptions.headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await vault.close();
      await Promise.all([sandbox.close(), kms.stop(), issuer.stop()]);
      vi.unstubAllEnvs();
    },
  };
}
