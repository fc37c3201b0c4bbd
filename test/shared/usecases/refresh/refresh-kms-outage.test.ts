// KMS outages around a refresh of a provider that rotates refresh tokens: never a lost grant.
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAtSandbox, readStoredConnection, registerSandboxClient, setStoredExpiry } from '../../../support/connection-fixtures.js';
import { useFirestoreTestProject } from '../../../support/firestore-test-project.js';
import { startVaultHarness, type VaultHarness } from '../../../support/vault-harness.js';
import { type ProviderSandbox, startProviderSandbox } from '../../../../local/provider-sandbox/provider-sandbox.js';
import { type EngineInstance, startInstance } from './engine-harness.js';

const project = useFirestoreTestProject('refresh-kms-outage');

let sandbox: ProviderSandbox;
let vaults: VaultHarness;
const instances: EngineInstance[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  [sandbox, vaults] = await Promise.all([startProviderSandbox(), startVaultHarness({ kmsMaxAttempts: 1 })]);
});

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.close()));
  await Promise.all([sandbox?.close(), vaults?.close()]);
});

async function expiredZoomConnection(userId: string) {
  const { client } = registerSandboxClient(sandbox, 'zoom');
  // Zoom rotates and kills the old refresh token: a refresh whose result is lost leaves a dead grant.
  sandbox.configure('zoom', { rotateRefreshTokens: true, invalidateRotatedRefreshTokens: true, tokenLifetimeSeconds: 3600 });
  const { connectionId, grant } = await connectAtSandbox({
    firestore: project.firestore,
    vault: vaults.vault,
    sandbox,
    client,
    provider: 'zoom',
    tenantId: 'acme',
    userId,
  });
  await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
  return { connectionId, grant, clients: { zoom: client } };
}

describe('a refresh while Cloud KMS fails', () => {
  it('fails before calling the provider when KMS is down, so the stored grant stays alive', async () => {
    const { grant, clients } = await expiredZoomConnection('kms-down');
    const instance = startInstance({ config: project.config, vaults, sandbox, clients, logLines });
    instances.push(instance);
    sandbox.resetCalls();
    // Opening the stored grant (Decrypt) works; wrapping a new data key (Encrypt) does not.
    vaults.kms.faults.failAll('Encrypt', status.UNAVAILABLE);
    try {
      await expect(instance.read({ tenantId: 'acme', userId: 'kms-down', provider: 'zoom' })).rejects.toMatchObject({ code: 'kms_unavailable' });
      expect(sandbox.calls('zoom', 'refresh')).toBe(0);
    } finally {
      vaults.kms.faults.clear();
    }
    // KMS is back: the untouched refresh token still works.
    const served = await instance.read({ tenantId: 'acme', userId: 'kms-down', provider: 'zoom' });
    expect(served.accessToken).not.toBe(grant.accessToken);
    expect(sandbox.calls('zoom', 'refresh')).toBe(1);
  });

  it('stores the rotated refresh token even when KMS goes down after the provider answered', async () => {
    const { connectionId, clients } = await expiredZoomConnection('kms-dies-mid-refresh');
    let outageInjected = false;
    const instance = startInstance({
      config: project.config,
      vaults,
      sandbox,
      clients,
      logLines,
      engine: {
        hooks: {
          afterProviderReply: async () => {
            if (outageInjected) return;
            outageInjected = true;
            vaults.kms.faults.failAll('Encrypt', status.UNAVAILABLE);
            vaults.kms.faults.failAll('Decrypt', status.UNAVAILABLE);
          },
        },
      },
    });
    instances.push(instance);
    sandbox.resetCalls();
    try {
      const served = await instance.read({ tenantId: 'acme', userId: 'kms-dies-mid-refresh', provider: 'zoom' });
      expect(sandbox.calls('zoom', 'refresh')).toBe(1);
      vaults.kms.faults.clear();
      const stored = await readStoredConnection(project.firestore, vaults.vault, connectionId);
      expect(stored.credentials.accessToken).toBe(served.accessToken);
      expect(stored.connection.document.status).toBe('active');
    } finally {
      vaults.kms.faults.clear();
    }
    // And the stored (rotated) refresh token is the live one: the next refresh succeeds.
    await setStoredExpiry(project.firestore, connectionId, Date.now() - 1_000);
    const again = await instance.read({ tenantId: 'acme', userId: 'kms-dies-mid-refresh', provider: 'zoom' });
    expect(again.accessToken).toBeTruthy();
    const after = await readStoredConnection(project.firestore, vaults.vault, connectionId);
    expect(after.connection.document.status).toBe('active');
  });
});
