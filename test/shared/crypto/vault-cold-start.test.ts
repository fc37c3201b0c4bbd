// Importing the vault must not load @google-cloud/kms (~0.7 s): the client is loaded on the first KMS call.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// Runs in a fresh Node: lists the KMS client and google-gax modules loaded after each step.
const probe = (vaultUrl: string) => `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const heavy = () => Object.keys(require.cache).filter((file) => /node_modules[\\\\/](@google-cloud[\\\\/]kms|google-gax)[\\\\/]/.test(file)).length;
const vault = await import(${JSON.stringify(vaultUrl)});
vault.createVault({ kms: { keyName: 'projects/p/locations/l/keyRings/r/cryptoKeys/k', apiEndpoint: '127.0.0.1:1', dataKeyCacheMaxEntries: 1, dataKeyCacheTtlMs: 1 } }, { clock: { nowMs: Date.now } });
const afterVault = heavy();
await import('@google-cloud/kms');
console.log(JSON.stringify({ afterVault, afterKmsImport: heavy() }));
`;

describe('cold start', () => {
  it('importing the vault and building it loads neither @google-cloud/kms nor google-gax', async () => {
    const vaultUrl = pathToFileURL(path.join(root, 'shared/crypto/vault.ts')).href;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', probe(vaultUrl)],
      { cwd: root, timeout: 60_000 },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { afterVault: number; afterKmsImport: number };
    expect(result.afterVault).toBe(0);
    // The probe can see the client when it is loaded: the check above can fail.
    expect(result.afterKmsImport).toBeGreaterThan(10);
  });
});
