import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import { createIdTokenVerifier } from '../../shared/auth/id-token-verifier.js';
import { createIdTokenSigner } from '../../local/id-token-issuer.js';
import { existingFunctionNames } from '../../local/functions-server.js';
import { createStandinClient } from '../../local/kms-standin/standin-client.js';
import { builtInProviders } from '../../shared/providers/registry.js';
import { LOCAL_KMS_KEY_NAME, type LocalStack, startLocalStack } from '../../local/local-stack.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function portIsOpen(origin: string): Promise<boolean> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('the local stack', () => {
  let stateDir = '';
  let stack: LocalStack;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'broker-stack-'));
    // Reuse the run's emulator: the launcher's own start-up is covered by its tests.
    stack = await startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      env: { FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost') },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('writes stack.json naming every function, stand-in and demo identity', async () => {
    const written = JSON.parse(await readFile(join(stateDir, 'stack.json'), 'utf8')) as typeof stack.description;
    expect(written).toEqual(stack.description);
    expect(Object.keys(written.functions).sort()).toEqual(existingFunctionNames().sort());
    expect(written.demoCaller).toMatch(/@oauth-broker-local\.iam\.gserviceaccount\.com$/);
    expect(written.returnUrl.startsWith(written.functionsOrigin)).toBe(true);
    expect(written.kms.keyName).toBe(LOCAL_KMS_KEY_NAME);
  });

  it('configures functions with an environment loadConfig accepts', () => {
    const config = loadConfig(stack.functionEnv);
    expect(config.firestore.emulatorHost).toBe(stack.description.firestoreEmulatorHost);
    expect(config.kms.apiEndpoint).toBe(stack.description.kms.endpoint);
    expect(config.callerIdentity.issuers).toEqual([stack.description.idTokenIssuer.issuer]);
  });

  it('registers a client for every catalog provider at the sandbox, with the callback as redirect URI', () => {
    const config = loadConfig(stack.functionEnv);
    const ids = builtInProviders.map((provider) => provider.id).sort();
    expect(Object.keys(config.providers.clients).sort()).toEqual(ids);
    expect([...stack.description.providerSandbox.providers].sort()).toEqual(ids);
    expect(stack.description.callbackUrl).toBe(`${stack.description.functionsOrigin}/callback`);
    for (const target of config.providers.originOverrides.values()) {
      expect(target.startsWith(stack.description.providerSandbox.origin)).toBe(true);
    }
    // stack.json is for people and scripts: it must never carry a client secret.
    const secrets = Object.values(config.providers.clients).map((client) => client.clientSecret ?? '');
    const written = JSON.stringify(stack.description);
    for (const secret of secrets) expect(written).not.toContain(secret);
  });

  it('serves the sealing key through the real KMS client, with a rotation period', async () => {
    const client = createStandinClient(stack.description.kms.endpoint);
    try {
      const [key] = await client.getCryptoKey({ name: LOCAL_KMS_KEY_NAME });
      expect(key.primary?.state).toBe('ENABLED');
      expect(Number(key.rotationPeriod?.seconds)).toBe(90 * 24 * 3600);
    } finally {
      await client.close();
    }
  });

  it('accepts ID tokens minted like `npm run local:id-token` does, verified against the running issuer', async () => {
    const config = loadConfig(stack.functionEnv);
    const signer = await createIdTokenSigner({ dataDir: join(stateDir, 'id-token-issuer') });
    const audience = `${stack.description.functionsOrigin}/token`;
    const verifier = createIdTokenVerifier({ ...config.callerIdentity, audiences: [audience] });
    const caller = await verifier.verify(signer.mint({ email: stack.description.demoCaller, audience }));
    expect(caller.email).toBe(stack.description.demoCaller);
  });

  it('answers unknown paths with a problem+json 404', async () => {
    const res = await fetch(`${stack.description.functionsOrigin}/no-such-function`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'not_found' });
  });

  it('stops everything it started, and is safe to stop twice', async () => {
    const origin = stack.description.functionsOrigin;
    await stack.stop();
    await stack.stop();
    expect(await portIsOpen(origin)).toBe(false);
    expect(await portIsOpen(`http://${stack.description.kms.endpoint}`)).toBe(false);
    expect(await portIsOpen(stack.description.providerSandbox.origin)).toBe(false);
    // The shared emulator was reused, not started, so it must still be serving.
    expect(await portIsOpen(`http://${stack.description.firestoreEmulatorHost}`)).toBe(true);
  });
});

describe('the local stack without Java', () => {
  it('rejects with the install hint instead of crashing the process', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'broker-stack-nojava-'));
    try {
      // No emulator host and no Java anywhere: the Firestore emulator cannot start. vitest fails the run on an
      // unhandled rejection, so this also proves the failure surfaces only through startLocalStack's promise.
      const starting = startLocalStack({ repoRoot, port: 0, stateDir, env: { PATH: join(stateDir, 'no-bin'), JAVA_HOME: '' } });
      await expect(starting).rejects.toThrow(/openjdk|JAVA_HOME/);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
