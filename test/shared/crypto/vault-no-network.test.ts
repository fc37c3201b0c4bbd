// The vault's KMS client, pointed at the stand-in, never looks for Google credentials or a metadata server.
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GoogleAuth } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VaultHarness, startVaultHarness } from '../../support/vault-harness.js';

const context = { collection: 'connections', documentId: 'conn-7', field: 'credentials', tenantId: 'acme' };
const watched = ['GCE_METADATA_HOST', 'GCE_METADATA_IP', 'METADATA_SERVER_DETECTION', 'GOOGLE_APPLICATION_CREDENTIALS', 'HOME'];

let h: VaultHarness;
let metadata: Server;
let metadataRequests = 0;
let home: string;
const saved = new Map<string, string | undefined>();

beforeAll(async () => {
  // A metadata server that counts, and an empty HOME: any credentials lookup would show up here.
  metadata = createServer((_request, response) => {
    metadataRequests += 1;
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(metadata.address() as AddressInfo).port}`;
  home = mkdtempSync(path.join(tmpdir(), 'vault-home-'));
  for (const name of watched) saved.set(name, process.env[name]);
  Object.assign(process.env, { GCE_METADATA_HOST: host, GCE_METADATA_IP: host, HOME: home });
  delete process.env.METADATA_SERVER_DETECTION;
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  h = await startVaultHarness();
});

afterAll(async () => {
  await h.close();
  await new Promise((resolve) => metadata.close(resolve));
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(home, { recursive: true, force: true });
});

describe('no Google credentials lookup', () => {
  it('seals, opens and re-wraps without a single metadata-server request', async () => {
    const vault = h.newVault();
    const blob = await vault.seal('token', context);
    vault.forget(blob);
    expect((await vault.open(blob, context)).toString()).toBe('token');
    h.kms.rotate(h.keyName);
    h.clock.advance(120_000);
    await vault.rewrap(blob, context);
    expect(metadataRequests).toBe(0);
  });

  it('(control) a credentials lookup in this environment does knock on that metadata server', async () => {
    await expect(new GoogleAuth().getClient()).rejects.toThrow(/default credentials/);
    expect(metadataRequests).toBeGreaterThan(0);
  });
});
