// A vault wired to a fresh KMS stand-in through the real KMS client, for tests of the crypto vault.
import { createLogger } from '../../shared/log/logger.js';
import { type Vault, createVault } from '../../shared/crypto/vault.js';
import { ManualClock } from '../../shared/time/clock.js';
import { type KmsStandin, startKmsStandin } from '../../local/kms-standin/server.js';

export const TEST_KEY_NAME = 'projects/broker-test/locations/global/keyRings/broker/cryptoKeys/tokens';

export interface VaultHarness {
  readonly kms: KmsStandin;
  readonly clock: ManualClock;
  readonly keyName: string;
  readonly vault: Vault;
  /** Log lines the vaults wrote, for asserting what reaches (and never reaches) a log. */
  readonly logLines: string[];
  /** Another vault instance on the same key (a second function instance: its own, empty cache). */
  newVault(options?: VaultOptions): Vault;
  close(): Promise<void>;
}

export interface VaultOptions {
  readonly cacheMaxEntries?: number;
  readonly cacheTtlMs?: number;
  readonly kmsCallTimeoutMs?: number;
  readonly kmsMaxAttempts?: number;
}

export async function startVaultHarness(options: VaultOptions = {}): Promise<VaultHarness> {
  const kms = await startKmsStandin();
  kms.ensureKey(TEST_KEY_NAME);
  const clock = new ManualClock();
  const logLines: string[] = [];
  const logger = createLogger({ sink: (line) => logLines.push(line), minSeverity: 'DEBUG' });
  const vaults: Vault[] = [];
  const newVault = (overrides: VaultOptions = {}): Vault => {
    const settings = { ...options, ...overrides };
    const vault = createVault(
      {
        kms: {
          keyName: TEST_KEY_NAME,
          apiEndpoint: kms.endpoint,
          dataKeyCacheMaxEntries: settings.cacheMaxEntries ?? 1000,
          dataKeyCacheTtlMs: settings.cacheTtlMs ?? 300_000,
        },
      },
      {
        clock,
        logger,
        kmsCallTimeoutMs: settings.kmsCallTimeoutMs ?? 5_000,
        kmsMaxAttempts: settings.kmsMaxAttempts ?? 2,
      },
    );
    vaults.push(vault);
    return vault;
  };
  const vault = newVault();
  return {
    kms,
    clock,
    keyName: TEST_KEY_NAME,
    vault,
    logLines,
    newVault,
    async close() {
      await Promise.all(vaults.map((each) => each.close()));
      await kms.stop();
    },
  };
}
