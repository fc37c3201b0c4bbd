// The client as services install it: packed from client/, installed into an empty project with nothing but
// google-auth-library's tree beside it, and calling the production-shaped local stack's token function from there.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createIdTokenSigner } from '../../local/id-token-issuer.js';
import { type LocalStack, localIdentities, startLocalStack } from '../../local/local-stack.js';
import { type MetadataServer, startMetadataServer } from '../../local/metadata-server.js';
import { dependencyTree, installedPackages, installPacked, packPackage } from '../support/packed-install.js';
import { createStackHttp, sandboxApproves, type StackHttp } from '../support/stack-http.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const clientDir = join(repoRoot, 'client');
const manifest = JSON.parse(await readFile(join(clientDir, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };

// What a calling service writes: import the installed package by name and ask for a token.
const callerScript = `
import { createBrokerClient, isBrokerClientError } from '${manifest.name}';
const [tokenUrl, request] = process.argv.slice(2);
try {
  const token = await createBrokerClient({ tokenUrl }).getToken(JSON.parse(request));
  process.stdout.write(JSON.stringify({ connectionId: token.connectionId, accessToken: token.accessToken, expiresAtIsDate: token.expiresAt instanceof Date }));
} catch (error) {
  process.stdout.write(JSON.stringify({ code: error.code, isBrokerClientError: isBrokerClientError(error) }));
}
`;

let workDir = '';
let projectDir = '';
let packedFiles: string[] = [];
let stack: LocalStack;
let http: StackHttp;
let metadata: MetadataServer;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'client-package-'));
  projectDir = await mkdtemp(join(workDir, 'empty-project-'));
  const stateDir = await mkdtemp(join(workDir, 'stack-'));
  const [packed, started] = await Promise.all([
    packPackage(clientDir, projectDir),
    startLocalStack({
      repoRoot,
      port: 0,
      stateDir,
      projectId: `client-package-${process.pid}`,
      env: { FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost'), PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost'), SWEEP_INTERVAL_SECONDS: '3600' },
    }),
  ]);
  stack = started;
  packedFiles = packed.files.map((file) => file.path).sort();
  await installPacked(repoRoot, projectDir, packed, manifest);
  await writeFile(join(projectDir, 'read-token.mjs'), callerScript);
  http = await createStackHttp(stack, stateDir, localIdentities.demoTenant);
  // The calling service's platform: a metadata server that hands out ID tokens for the stack's demo caller.
  const signer = await createIdTokenSigner({ dataDir: join(stateDir, 'id-token-issuer') });
  metadata = await startMetadataServer({ issuer: signer, serviceAccountEmail: stack.description.demoCaller, projectId: 'calling-service' });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await metadata?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function readTokenFromInstalledClient(request: Record<string, unknown>): Promise<Record<string, unknown>> {
  const home = join(workDir, 'caller-home');
  const { stdout } = await run(process.execPath, ['read-token.mjs', stack.description.functions.token as string, JSON.stringify(request)], {
    cwd: projectDir,
    // Only the stand-in metadata server can give this process an identity: no real credentials, no real metadata server.
    env: { PATH: process.env.PATH, HOME: home, CLOUDSDK_CONFIG: join(home, 'gcloud'), GCE_METADATA_HOST: metadata.host, METADATA_SERVER_DETECTION: 'ping-only' },
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('the client package', () => {
  it('packs only its compiled code and types, and declares google-auth-library as its one dependency', () => {
    expect(Object.keys(manifest.dependencies)).toEqual(['google-auth-library']);
    expect(packedFiles).toContain('dist/client/index.js');
    expect(packedFiles).toContain('dist/client/index.d.ts');
    for (const file of packedFiles) expect(file).toMatch(/^(package\.json|README\.md|dist\/.+\.(js|d\.ts))$/);
  });

  it('installs into an empty project with nothing beside it but google-auth-library and its dependencies', () => {
    expect(installedPackages(projectDir)).toEqual([`${manifest.name}@${manifest.version}`, ...dependencyTree(repoRoot, ['google-auth-library'])].sort());
    expect(installedPackages(projectDir).some((name) => /^(@google-cloud\/|zod@|express@|oauth4webapi@)/.test(name))).toBe(false);
  });

  it("reads a token from the local stack's token function, and a refusal arrives as the package's own error", async () => {
    const end = await http.connectInBrowser('slack', 'alice', sandboxApproves(stack));
    const { connectionId } = await http.confirmAsProduct(end, 'alice');
    const request = { tenantId: localIdentities.demoTenant, userId: 'alice', provider: 'slack' };
    const served = await readTokenFromInstalledClient(request);
    expect(served).toEqual({ connectionId, accessToken: (await http.readToken({ userId: 'alice', provider: 'slack' })).accessToken, expiresAtIsDate: true });
    expect(await readTokenFromInstalledClient({ ...request, userId: 'nobody' })).toEqual({ code: 'not_connected', isBrokerClientError: true });
  });
});
