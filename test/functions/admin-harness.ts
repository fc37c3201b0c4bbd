// Serves the admin function on a loopback port against this file's own emulator project, a KMS stand-in, the
// provider sandbox, a local ID-token issuer and a local IAP signer; connections are stored as the real ones are.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Firestore } from '@google-cloud/firestore';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { inject } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import { createVault, type Vault } from '../../shared/crypto/vault.js';
import { createFirestore } from '../../shared/store/firestore-client.js';
import { systemClock } from '../../shared/time/clock.js';
import { connectAtSandbox, registerSandboxClient } from '../support/connection-fixtures.js';
import { clearEmulatorProject, testProjectId } from '../support/firestore-test-project.js';
import { type IapIssuer, startIapIssuer } from '../../local/iap-issuer.js';
import { type IdTokenIssuer, startIdTokenIssuer } from '../../local/id-token-issuer.js';
import { type KmsStandin, startKmsStandin } from '../../local/kms-standin/server.js';
import { type ProviderSandbox, startProviderSandbox } from '../../local/provider-sandbox/provider-sandbox.js';

export const OPERATOR = 'ops-lead@example.com';
export const NOT_AN_OPERATOR = 'someone-else@example.com';
export const IAP_AUDIENCE = '/projects/123456789012/global/backendServices/4242424242';
export const KEY_NAME = 'projects/admin-test/locations/global/keyRings/broker/cryptoKeys/tokens';
export const HARNESS_PROVIDERS = ['slack', 'google', 'notion'] as const;

export interface AdminHarness {
  readonly origin: string;
  readonly firestore: Firestore;
  readonly vault: Vault;
  readonly kms: KmsStandin;
  readonly sandbox: ProviderSandbox;
  readonly iap: IapIssuer;
  readonly idTokens: IdTokenIssuer;
  /** Client secrets the function was configured with, for leak scans. */
  readonly clientSecrets: readonly string[];
  /** Headers of a request through IAP as `email` (an operator by default). */
  iapHeaders(email?: string): Promise<Record<string, string>>;
  /** Headers of a request with a Google ID token (IAM) as `email`. */
  bearerHeaders(email?: string): Promise<Record<string, string>>;
  /** Connects a sandbox account through the real authorization-code flow; returns the connection id. */
  connect(provider: (typeof HARNESS_PROVIDERS)[number], options: { tenantId?: string; userId?: string; account?: string }): Promise<string>;
  stop(): Promise<void>;
}

export async function startAdminHarness(label: string, extraEnv: Record<string, string> = {}): Promise<AdminHarness> {
  const emulatorHost = inject('firestoreEmulatorHost');
  const projectId = testProjectId(label);
  const [kms, idTokens, iap, sandbox] = await Promise.all([startKmsStandin(), startIdTokenIssuer(), startIapIssuer(), startProviderSandbox()]);
  kms.ensureKey(KEY_NAME);

  const mounted: { listener?: RequestListener } = {};
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, first = '', ...rest] = url.pathname.split('/');
    const { listener } = mounted;
    if (first !== 'admin' || listener === undefined) {
      res.writeHead(404).end();
      return;
    }
    req.url = `/${rest.join('/')}${url.search}`;
    listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const clients = Object.fromEntries(HARNESS_PROVIDERS.map((provider) => [provider, registerSandboxClient(sandbox, provider)]));
  const env: Record<string, string> = {
    GOOGLE_CLOUD_PROJECT: projectId,
    FIRESTORE_EMULATOR_HOST: emulatorHost,
    KMS_KEY_NAME: KEY_NAME,
    KMS_API_ENDPOINT: kms.endpoint,
    ID_TOKEN_ISSUER: idTokens.issuer,
    ID_TOKEN_JWKS_URL: idTokens.jwksUrl,
    ID_TOKEN_AUDIENCES: `${origin}/admin`,
    IAP_AUDIENCE,
    IAP_JWKS_URL: iap.jwksUrl,
    ADMIN_ALLOWLIST: `${OPERATOR.toUpperCase()},second-operator@example.com`,
    METADATA_SERVER_DETECTION: 'none',
    PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(sandbox.originOverrides),
    PROVIDER_ENDPOINT_ALLOWLIST: JSON.stringify(sandbox.endpointAllowlist),
    LOG_LEVEL: 'ERROR',
    ...Object.assign({}, ...Object.values(clients).map((client) => client.env)),
    ...extraEnv,
  };
  loadConfig(env);
  Object.assign(process.env, env);
  await import('../../functions/admin.js');
  mounted.listener = getTestServer('admin').listeners('request')[0] as RequestListener;
  await clearEmulatorProject(emulatorHost, projectId);
  const config = loadConfig(env);
  const firestore = createFirestore(config);
  const vault = createVault(config, { clock: systemClock });

  return {
    origin,
    firestore,
    vault,
    kms,
    sandbox,
    iap,
    idTokens,
    clientSecrets: Object.values(clients).map((client) => client.client.clientSecret),
    iapHeaders: async (email = OPERATOR) => ({ 'x-goog-iap-jwt-assertion': await iap.mint({ email, audience: IAP_AUDIENCE }) }),
    bearerHeaders: async (email = OPERATOR) => ({ authorization: `Bearer ${await idTokens.mint({ email, audience: `${origin}/admin` })}` }),
    async connect(provider, options) {
      const { connectionId } = await connectAtSandbox({
        firestore,
        vault,
        sandbox,
        client: clients[provider]?.client ?? { clientId: '', clientSecret: '' },
        provider,
        tenantId: options.tenantId ?? 'tenant-a',
        userId: options.userId ?? 'user-1',
        ...(options.account === undefined ? {} : { account: options.account }),
      });
      return connectionId;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await clearEmulatorProject(emulatorHost, projectId).catch(() => undefined);
      await firestore.terminate();
      await vault.close();
      await Promise.all([kms.stop(), idTokens.stop(), iap.stop(), sandbox.close()]);
    },
  };
}
