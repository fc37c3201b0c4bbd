// Serves the connect functions (authorize, callback, connections) on one loopback port against this file's own
// emulator project, a KMS stand-in, a local ID-token issuer and the provider sandbox; plus a cookie-keeping
// "browser" that follows the flow the way a user's browser would.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Firestore } from '@google-cloud/firestore';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { inject } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import { createVault, type Vault } from '../../shared/crypto/vault.js';
import { systemClock } from '../../shared/time/clock.js';
import { builtInProviders } from '../../shared/providers/registry.js';
import { createFirestore } from '../../shared/store/firestore-client.js';
import { clearEmulatorProject, testProjectId } from '../support/firestore-test-project.js';
import { type IdTokenIssuer, startIdTokenIssuer } from '../../local/id-token-issuer.js';
import { type KmsStandin, startKmsStandin } from '../../local/kms-standin/server.js';
import { type ProviderSandbox, startProviderSandbox } from '../../local/provider-sandbox/provider-sandbox.js';

export const TEST_CALLER = 'product-backend@connect-test.iam.gserviceaccount.com';
export const OTHER_CALLER = 'other-backend@connect-test.iam.gserviceaccount.com';
export const TEST_TENANT = 'tenant-a';
const KEY_NAME = 'projects/connect-test/locations/global/keyRings/broker/cryptoKeys/tokens';

export interface ConnectHarness {
  readonly origin: string;
  readonly projectId: string;
  readonly firestore: Firestore;
  readonly sandbox: ProviderSandbox;
  /** A vault over the same KMS key, to open what the functions sealed. */
  readonly vault: Vault;
  readonly returnUrl: string;
  readonly callbackUrl: string;
  /** Client secrets the functions were configured with, for leak scans. */
  readonly clientSecrets: readonly string[];
  idToken(email?: string, functionName?: string): Promise<string>;
  stop(): Promise<void>;
}

// Explicit imports: each module registers its function with the framework when it loads.
const functionModules = {
  authorize: () => import('../../functions/authorize.js'),
  callback: () => import('../../functions/callback.js'),
  connections: () => import('../../functions/connections.js'),
} as const;
const functionNames = Object.keys(functionModules) as (keyof typeof functionModules)[];

export async function startConnectHarness(label: string, extraEnv: Record<string, string> = {}): Promise<ConnectHarness> {
  const emulatorHost = inject('firestoreEmulatorHost');
  const projectId = testProjectId(label);
  const [kms, issuer, sandbox]: [KmsStandin, IdTokenIssuer, ProviderSandbox] = await Promise.all([
    startKmsStandin(),
    startIdTokenIssuer(),
    startProviderSandbox(),
  ]);
  kms.ensureKey(KEY_NAME);

  const listeners = new Map<string, RequestListener>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, first = '', ...rest] = url.pathname.split('/');
    const listener = listeners.get(first);
    if (!listener) {
      res.writeHead(404).end();
      return;
    }
    req.url = `/${rest.join('/')}${url.search}`;
    listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const callbackUrl = `${origin}/callback`;
  const returnUrl = 'https://app.example.test/settings/connected';

  const clientSecrets: string[] = [];
  const clientEnv: Record<string, string> = {};
  for (const { id } of builtInProviders) {
    const client = { clientId: `test-${id}`, clientSecret: `secret-${id}-${Math.random().toString(36).slice(2)}${'x'.repeat(16)}` };
    sandbox.registerClient(id, { ...client, redirectUris: [callbackUrl] });
    clientSecrets.push(client.clientSecret);
    clientEnv[`PROVIDER_${id.toUpperCase()}_CLIENT_ID`] = client.clientId;
    clientEnv[`PROVIDER_${id.toUpperCase()}_CLIENT_SECRET`] = client.clientSecret;
  }
  const env: Record<string, string> = {
    GOOGLE_CLOUD_PROJECT: projectId,
    FIRESTORE_EMULATOR_HOST: emulatorHost,
    KMS_KEY_NAME: KEY_NAME,
    KMS_API_ENDPOINT: kms.endpoint,
    ID_TOKEN_ISSUER: issuer.issuer,
    ID_TOKEN_JWKS_URL: issuer.jwksUrl,
    ID_TOKEN_AUDIENCES: functionNames.map((name) => `${origin}/${name}`).join(','),
    METADATA_SERVER_DETECTION: 'none',
    PROVIDER_ORIGIN_OVERRIDES: JSON.stringify(sandbox.originOverrides),
    PROVIDER_ENDPOINT_ALLOWLIST: JSON.stringify(sandbox.endpointAllowlist),
    CALLER_POLICY: JSON.stringify([
      { serviceAccount: TEST_CALLER, tenants: [TEST_TENANT], providers: '*', actions: ['connect', 'manage_connections'] },
      { serviceAccount: OTHER_CALLER, tenants: [TEST_TENANT], providers: ['slack'], actions: ['connect', 'manage_connections'] },
    ]),
    BROKER_CALLBACK_URL: callbackUrl,
    RETURN_URL_ALLOWLIST: `${returnUrl},https://app.example.test/other`,
    // These functions store grants at the callback; parking until the product confirms is covered end to end
    // against the local stack (test/functions/connect-confirmation.test.ts).
    CONNECT_CONFIRMATION_TENANTS: 'none',
    LOG_LEVEL: 'ERROR',
    ...clientEnv,
    ...extraEnv,
  };
  loadConfig(env); // fails here, with the variable named, rather than inside a function
  Object.assign(process.env, env);
  for (const name of functionNames) {
    await functionModules[name]();
    const listener = getTestServer(name).listeners('request')[0] as RequestListener;
    listeners.set(name, listener);
  }
  await clearEmulatorProject(emulatorHost, projectId);
  const config = loadConfig(env);
  const firestore = createFirestore(config);
  const vault = createVault(config, { clock: systemClock });

  return {
    origin,
    projectId,
    firestore,
    sandbox,
    vault,
    returnUrl,
    callbackUrl,
    clientSecrets,
    idToken: (email = TEST_CALLER, functionName = 'authorize') => issuer.mint({ email, audience: `${origin}/${functionName}` }),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await clearEmulatorProject(emulatorHost, projectId).catch(() => undefined);
      await firestore.terminate();
      await vault.close();
      await Promise.all([kms.stop(), issuer.stop(), sandbox.close()]);
    },
  };
}

/** A minimal browser: keeps cookies per the Set-Cookie headers it sees, follows nothing on its own. */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = ''] = header.split(';');
      const equals = pair.indexOf('=');
      const name = pair.slice(0, equals);
      const value = pair.slice(equals + 1);
      if (/max-age=0/i.test(header) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string | undefined {
    return this.#cookies.size === 0 ? undefined : [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  values(): string[] {
    return [...this.#cookies.values()];
  }

  clear(): void {
    this.#cookies.clear();
  }
}
