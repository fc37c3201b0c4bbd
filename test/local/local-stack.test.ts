import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import { createIdTokenVerifier } from '../../shared/auth/id-token-verifier.js';
import { createIdTokenSigner } from '../../local/id-token-issuer.js';
import { functionNames } from '../../functions/names.js';
import { readableVariablesOf, readFunctionManifest, standInVariablesOf } from '../../local/function-manifest.js';
import { createStandinClient } from '../../local/kms-standin/standin-client.js';
import { builtInProviders, catalogProviders } from '../../shared/providers/registry.js';
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
    // Reuse the run's emulators: the launchers' own start-up is covered by their tests.
    stack = await startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      env: { FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'), PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost') },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('writes stack.json naming every function, stand-in and demo identity', async () => {
    const written = JSON.parse(await readFile(join(stateDir, 'stack.json'), 'utf8')) as typeof stack.description;
    expect(written).toEqual(stack.description);
    expect(Object.keys(written.functions).sort()).toEqual([...functionNames].sort());
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
    const ids = [...builtInProviders, ...catalogProviders].map((provider) => provider.id).sort();
    expect(Object.keys(config.providerClients).sort()).toEqual(ids);
    expect([...stack.description.providerSandbox.providers].sort()).toEqual(ids);
    expect(stack.description.callbackUrl).toBe(`${stack.description.functionsOrigin}/callback`);
    for (const target of config.providers.originOverrides.values()) {
      expect(target.startsWith(stack.description.providerSandbox.origin)).toBe(true);
    }
    // stack.json is for people and scripts: it must never carry a client secret.
    const secrets = Object.values(config.providerClients).map((client) => client.clientSecret ?? '');
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
    const caller = await verifier.verify(await signer.mint({ email: stack.description.demoCaller, audience }));
    expect(caller.email).toBe(stack.description.demoCaller);
  });

  it('runs each function as its own process with exactly its manifest entry, and its own URL as ID-token audience', async () => {
    const pids = Object.values(stack.description.functionProcesses).map((fn) => fn.pid);
    expect(Object.keys(stack.description.functionProcesses).sort()).toEqual([...functionNames].sort());
    expect(new Set(pids).size).toBe(functionNames.length);
    expect(pids).not.toContain(process.pid);
    for (const pid of pids) expect(() => process.kill(pid, 0)).not.toThrow();
    const manifest = readFunctionManifest();
    for (const name of functionNames) {
      const env = stack.functionEnvironments[name];
      expect({ name, audience: env.ID_TOKEN_AUDIENCES }).toEqual({
        name,
        audience: manifest.functions[name].environment.includes('ID_TOKEN_AUDIENCES') ? `${stack.description.functionsOrigin}/${name}` : undefined,
      });
      // Nothing the manifest does not give, beyond the stand-ins' addresses, the platform's and the provider clients.
      const tuning = readableVariablesOf(name).has('HEALTH_RECHECK_SECONDS') ? ['HEALTH_RECHECK_SECONDS'] : [];
      const given = new Set([...manifest.functions[name].environment, ...standInVariablesOf(name), 'GCE_METADATA_HOST', 'METADATA_SERVER_DETECTION', ...tuning]);
      const extra = Object.keys(env).filter((variable) => !given.has(variable) && !/^PROVIDER_[A-Z0-9_]+_CLIENT_(ID|SECRET)$/.test(variable));
      expect({ name, extra }).toEqual({ name, extra: [] });
    }
    expect(Object.keys(stack.functionEnvironments.authorize).filter((variable) => variable.endsWith('_CLIENT_SECRET'))).toEqual([]);
    expect(Object.keys(stack.functionEnvironments.callback).filter((variable) => variable.endsWith('_CLIENT_SECRET')).length).toBe(builtInProviders.length + catalogProviders.length);
  });

  it('refuses at /token an ID token minted for /authorize, as each Cloud Run function accepts only its own URL', async () => {
    const signer = await createIdTokenSigner({ dataDir: join(stateDir, 'id-token-issuer') });
    const origin = stack.description.functionsOrigin;
    const read = async (audience: string) =>
      fetch(`${origin}/token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await signer.mint({ email: stack.description.demoCaller, audience })}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tenantId: stack.description.demoTenant, userId: 'nobody', provider: 'slack' }),
      });
    expect((await read(`${origin}/authorize`)).status).toBe(401);
    // The same caller with the token function's own audience gets past authentication (no such connection).
    expect((await read(`${origin}/token`)).status).toBe(404);
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
    for (const fn of Object.values(stack.description.functionProcesses)) {
      expect(await portIsOpen(fn.origin)).toBe(false);
      expect(() => process.kill(fn.pid, 0)).toThrow();
    }
    // The shared emulators were reused, not started, so they must still be serving.
    expect(await portIsOpen(`http://${stack.description.firestoreEmulatorHost}`)).toBe(true);
    expect(await portIsOpen(`http://${stack.description.events.pubsubEmulatorHost}`)).toBe(true);
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
