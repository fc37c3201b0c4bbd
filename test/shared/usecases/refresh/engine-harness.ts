// Independent refresh engines over one emulator project, KMS stand-in and provider sandbox: each one a "Cloud Run instance".
import type { Firestore } from '@google-cloud/firestore';
import { expect } from 'vitest';
import { createCallerPolicy } from '../../../../shared/auth/caller-policy.js';
import type { VerifiedCaller } from '../../../../shared/auth/id-token-verifier.js';
import type { Config } from '../../../../shared/config/config.js';
import type { Vault } from '../../../../shared/crypto/vault.js';
import { createLogger, type Logger } from '../../../../shared/log/logger.js';
import { createOAuthRuntime } from '../../../../shared/oauth/oauth-runtime.js';
import type { ClientCredentials } from '../../../../shared/oauth/token-set.js';
import { createProviderCatalog, type ProviderCatalog } from '../../../../shared/providers/registry.js';
import { createFirestore } from '../../../../shared/store/firestore-client.js';
import { type Clock, systemClock } from '../../../../shared/time/clock.js';
import { cryptoIdSource } from '../../../../shared/time/ids.js';
import { createRefreshEngine, type RefreshEngine, type RefreshEngineOptions } from '../../../../shared/usecases/refresh/refresh-engine.js';
import { readToken } from '../../../../shared/usecases/token/read-token.js';
import type { TokenRequest, TokenResponse } from '../../../../shared/usecases/token/token-request.js';
import { readStoredConnection } from '../../../support/connection-fixtures.js';
import type { VaultHarness } from '../../../support/vault-harness.js';
import type { ProviderSandbox } from '../../../../local/provider-sandbox/provider-sandbox.js';
import { firestoreConnectionSource } from '../../../../shared/usecases/token/connection-source.js';

export const READER: VerifiedCaller = {
  email: 'reader@acme-prod.iam.gserviceaccount.com',
  subject: '1001',
  audience: 'https://token.example.test',
  issuer: 'https://accounts.google.com',
};

export interface EngineInstance {
  readonly engine: RefreshEngine;
  readonly firestore: Firestore;
  readonly vault: Vault;
  read(request: TokenRequest): Promise<TokenResponse>;
  close(): Promise<void>;
}

export interface InstanceSettings {
  readonly config: Config;
  readonly vaults: VaultHarness;
  readonly sandbox: ProviderSandbox;
  readonly clients: Readonly<Record<string, ClientCredentials>>;
  readonly logLines: string[];
  readonly clock?: Clock;
  readonly refresh?: Partial<Config['refresh']>;
  readonly engine?: RefreshEngineOptions;
  /** Providers beyond the built-in ones (an OIDC peer), and where their origins are served. */
  readonly catalog?: ProviderCatalog;
  readonly originOverrides?: Readonly<Record<string, string>>;
}

const policy = createCallerPolicy([{ serviceAccount: READER.email, tenants: '*', providers: '*', actions: ['read_token'] }]);

/** A fresh instance: its own Firestore client, vault (cold key cache), HTTP client and engine — no shared in-process state. */
export function startInstance(settings: InstanceSettings): EngineInstance {
  const clock = settings.clock ?? systemClock;
  const firestore = createFirestore(settings.config);
  const vault = settings.vaults.newVault();
  const logger: Logger = createLogger({ sink: (line) => settings.logLines.push(line), minSeverity: 'DEBUG' });
  const engine = createRefreshEngine(
    {
      firestore,
      vault,
      oauth: createOAuthRuntime({ overrides: new Map(Object.entries({ ...settings.sandbox.originOverrides, ...settings.originOverrides })), timeoutMs: 5_000, clock }),
      catalog: settings.catalog ?? createProviderCatalog(),
      clients: settings.clients,
      settings: { ...settings.config.refresh, ...settings.refresh },
      clock,
      ids: cryptoIdSource,
      logger,
    },
    settings.engine,
  );
  const dependencies = {
    firestore,
    connections: firestoreConnectionSource(firestore),
    engine,
    callerPolicy: policy,
    defaultMinValidityMs: settings.config.refresh.defaultMinValidityMs,
    clock,
    ids: cryptoIdSource,
    logger,
  };
  return {
    engine,
    firestore,
    vault,
    read: (request) => readToken(dependencies, READER, request),
    // Refreshes outlive the reads that started them (a caller stops waiting, the holder does not): let them finish.
    close: async () => {
      await engine.settled();
      await firestore.terminate();
    },
  };
}

/** Parsed log lines of one event name. */
export function logEvents(lines: readonly string[], event: string): Record<string, unknown>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === event);
}

export interface StalledRound {
  readonly firestore: Firestore;
  readonly vault: Vault;
  readonly connectionId: string;
  readonly request: TokenRequest;
  /** Starts the refresh; its reader gives up at its deadline. */
  readonly first: EngineInstance;
  /** Reads again after `pauseMs` (past the lease's unextended life): the holder's lease still keeps it off the provider. */
  readonly second: EngineInstance;
  readonly pauseMs: number;
  readonly previousRefreshToken: string | undefined;
  /** How long the stored refresh token may take to change. */
  readonly timeoutMs: number;
  readonly label: string;
}

/** One round of a provider stalling on a refresh: both readers get 503, then the holder stores the reply; returns what it stored. */
/**
 * A read as a caller makes it: a 503 `refresh_in_progress` (the caller's short wait ran out while a refresh it asked
 * for goes on) is retried, as its `retryAfterSeconds` tells callers to. A prompt provider on a loaded machine can take
 * longer than the tests' 250 ms caller wait; what the tests assert is what the retried read is served.
 */
export async function readAsCaller(instance: EngineInstance, request: TokenRequest, attempts = 40): Promise<TokenResponse> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await instance.read(request);
    } catch (error) {
      const inProgress = (error as { details?: { reason?: unknown } }).details?.reason === 'refresh_in_progress';
      if (!inProgress || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

export async function stalledRefreshStored(round: StalledRound) {
  await expect(round.first.read(round.request), round.label).rejects.toMatchObject({ code: 'provider_unavailable', details: { reason: 'refresh_in_progress' } });
  await new Promise((resolve) => setTimeout(resolve, round.pauseMs));
  await expect(round.second.read(round.request), round.label).rejects.toMatchObject({ code: 'provider_unavailable' });
  let stored = await readStoredConnection(round.firestore, round.vault, round.connectionId);
  for (let waited = 0; stored.credentials.refreshToken === round.previousRefreshToken && waited < round.timeoutMs; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    stored = await readStoredConnection(round.firestore, round.vault, round.connectionId);
  }
  return stored;
}
