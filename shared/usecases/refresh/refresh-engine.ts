// The refresh engine: fresh credentials on read, one refresh per connection across all instances, rotated tokens never lost.
//
// How one refresh happens (DESIGN.md "Refresh — the hard part"):
// 1. Within an instance, concurrent reads of one connection share one in-flight refresh (a promise per id).
// 2. Across instances, a Firestore lease decides: an instance claims it only when the document it just read
//    shows no live lease (read first, claim when needed — emulator and production transactions both pay for
//    contention). A loser, or anyone who sees a live lease, waits by re-reading with backoff until the lease
//    is released or expires; it never calls the provider itself.
// 3. The holder re-reads after claiming (another holder may have finished between its read and its claim),
//    calls the provider, seals the new credentials (the rotated refresh token inside) and stores them with
//    the lease's release in one fenced transaction — nothing else happens in between.
// 4. A holder that stalls past its lease loses it to the next reader; its late write fails the fence.
// Failures: a dead grant moves to needs_reauth at once (event + audit, same transaction); retryable ones
// schedule the next attempt with backoff, jitter and Retry-After, and nobody calls the provider before it.
import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../../config/config.js';
import type { Vault } from '../../crypto/vault.js';
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import type { Logger } from '../../log/logger.js';
import { clientCredentialsGrant, refreshGrant } from '../../oauth/grants.js';
import type { OAuthRuntime } from '../../oauth/oauth-runtime.js';
import type { ClientCredentials, TokenSet } from '../../oauth/token-set.js';
import type { ProviderDefinition } from '../../providers/definition-schema.js';
import type { ProviderCatalog } from '../../providers/registry.js';
import type { Credentials } from '../../store/connection-document.js';
import { openCredentials, type PreparedCredentialsSeal, prepareCredentialsSeal } from '../../store/connection-credentials.js';
import { connectionRef, readConnection, type StoredConnection } from '../../store/connection-reads.js';
import {
  type AuditActor,
  type RefreshFailure,
  type RefreshFence,
  recordRefreshFailure,
  storeRefreshedCredentials,
} from '../../store/connection-refresh-writes.js';
import { claimLease, releaseLease } from '../../store/lease.js';
import type { Clock } from '../../time/clock.js';
import type { IdSource } from '../../time/ids.js';
import { claimIfDue } from './claim-if-due.js';
import { retryDelayMs } from './refresh-backoff.js';
import { decideRead, nextRefreshAtMs } from './refresh-schedule.js';

export interface RefreshEngineDependencies {
  readonly firestore: Firestore;
  readonly vault: Vault;
  readonly oauth: OAuthRuntime;
  readonly catalog: ProviderCatalog;
  readonly clients: Config['providerClients'];
  readonly settings: Config['refresh'];
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
}

/** Where a refresh attempt stands, for the test seam. */
export interface RefreshAttempt {
  readonly connectionId: string;
  readonly holder: string;
  readonly leaseVersion: number;
}

/**
 * Test seams, passed to the constructor only (no configuration reaches them): tests simulate a holder
 * that dies or stalls after the provider answered and before anything was stored.
 */
export interface RefreshEngineHooks {
  afterProviderReply?(attempt: RefreshAttempt): Promise<void>;
}

export interface RefreshEngineOptions {
  /** Names this engine in lease holders (one per process, like a Cloud Run instance); random by default. */
  readonly instanceId?: string;
  /** Jitter source in [0, 1); jitter is no secret, so Math.random by default. */
  readonly random?: () => number;
  readonly hooks?: RefreshEngineHooks;
  /** See ReadDecisionInput.minRefreshIntervalMs; 30 s by default. */
  readonly minRefreshIntervalMs?: number;
  /**
   * Called after this engine stored a refresh's outcome (new tokens, or a failure that may have moved the status),
   * so a function can drain the events outbox before it answers; never called for reads served from storage.
   */
  readonly onStateChange?: (connectionId: string) => void;
  /** How a waiter re-reads: the first pause, growing by half each time up to the cap. */
  readonly waitPollMs?: { readonly initial: number; readonly max: number };
}

export interface FreshCredentials {
  readonly connection: StoredConnection;
  readonly credentials: Credentials;
}

export interface FreshCredentialsOptions {
  readonly minValidityMs: number;
  /** Who asked, for the audit entries of the refresh this read may cause. */
  readonly actor: AuditActor;
}

export interface RefreshEngine {
  readonly instanceId: string;
  /**
   * The connection's credentials, valid for `minValidityMs` where the provider allows it. Refreshes under
   * the lease when needed; takes the connection as the caller just read it, so a warm read costs no extra read.
   */
  freshCredentials(connection: StoredConnection, options: FreshCredentialsOptions): Promise<FreshCredentials>;
  /**
   * The sweeps' entry: refreshes one connection now if it is still due, under the same lease and writes as a
   * read. Never waits for another holder (a live lease means someone is on it: skipped) and never throws for
   * a provider or storage failure (reported as `failed`); see SweepRefreshRequest for when it is "due".
   */
  refreshConnection(connectionId: string, request: SweepRefreshRequest): Promise<SweepRefreshResult>;
}

export interface SweepRefreshRequest {
  readonly actor: AuditActor;
  /**
   * `due`: refresh when `nextRefreshAtMs <= dueByMs` (never before a failure's backoff ends), and only if
   * `nextRefreshAtMs` still is `expectedNextRefreshAtMs` (what the sweep's query saw; a change means someone
   * refreshed it since). `force`: refresh unless in backoff — the health check's one try after an auth failure.
   */
  readonly mode:
    | { readonly kind: 'due'; readonly dueByMs: number; readonly expectedNextRefreshAtMs: number | null }
    | { readonly kind: 'force' };
}

export const sweepSkipReasons = ['gone', 'not_refreshable', 'not_due', 'already_refreshed', 'cooldown', 'lease_held', 'fenced_out'] as const;
export type SweepSkipReason = (typeof sweepSkipReasons)[number];

export type SweepRefreshResult =
  | { readonly outcome: 'refreshed'; readonly connection: StoredConnection }
  | { readonly outcome: 'skipped'; readonly reason: SweepSkipReason }
  /** `reason`: the provider's dead-grant code, or the error code of a retryable or unexpected failure. */
  | { readonly outcome: 'failed'; readonly reason: string; readonly connection?: StoredConnection };

interface RefreshOutcome {
  readonly connection: StoredConnection;
  /** The failure this refresh (or the refresh it waited for) ran into, if any. */
  readonly failure?: BrokerError;
}

const DEFAULT_MIN_REFRESH_INTERVAL_MS = 30_000;
const DEFAULT_WAIT_POLL = { initial: 25, max: 250 } as const;
const STORE_ATTEMPTS = 3;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function needsReauthError(connection: StoredConnection): BrokerError {
  const { provider, statusReason } = connection.document;
  return new BrokerError(
    'needs_reauth',
    'The provider no longer accepts this grant: run the connect flow (authorize) again for this user and provider',
    { details: { connectionId: connection.id, provider, reason: statusReason, action: 'reconnect' } },
  );
}

function notConnectedError(connection: StoredConnection): BrokerError {
  return new BrokerError('not_connected', 'The connection was revoked; the user must connect again', {
    details: { connectionId: connection.id, provider: connection.document.provider, reason: 'revoked' },
  });
}

function unavailableUntil(retryAtMs: number, nowMs: number, connection: StoredConnection, cause?: unknown): BrokerError {
  return new BrokerError('provider_unavailable', 'The provider is not refreshing this token right now; retry later', {
    ...(cause === undefined ? {} : { cause }),
    details: { connectionId: connection.id, provider: connection.document.provider },
    retryAfterSeconds: Math.max(1, Math.ceil((retryAtMs - nowMs) / 1000)),
  });
}

export function createRefreshEngine(dependencies: RefreshEngineDependencies, options: RefreshEngineOptions = {}): RefreshEngine {
  const { firestore, vault, oauth, catalog, settings, clock, ids, logger } = dependencies;
  const instanceId = options.instanceId ?? ids.newId();
  const random = options.random ?? Math.random;
  const hooks = options.hooks ?? {};
  const minRefreshIntervalMs = options.minRefreshIntervalMs ?? DEFAULT_MIN_REFRESH_INTERVAL_MS;
  const waitPoll = options.waitPollMs ?? DEFAULT_WAIT_POLL;
  const inFlight = new Map<string, Promise<RefreshOutcome>>();
  const log = logger.child({ labels: { component: 'refresh' } });

  const writer = { clock, ids };

  async function open(connection: StoredConnection): Promise<FreshCredentials> {
    const { credentials, tenantId } = connection.document;
    if (credentials === null) throw notConnectedError(connection);
    return { connection, credentials: await openCredentials(vault, credentials, { connectionId: connection.id, tenantId }) };
  }

  async function reread(connectionId: string): Promise<StoredConnection> {
    const latest = await readConnection(firestore, connectionId);
    if (latest === undefined) {
      throw new BrokerError('not_connected', 'The connection no longer exists', { details: { connectionId } });
    }
    return latest;
  }

  const decide = (connection: StoredConnection, minValidityMs: number) =>
    decideRead(connection.document, { nowMs: clock.nowMs(), minValidityMs, minRefreshIntervalMs });

  /** Re-reads until the live lease seen in `connection` is released or expires (or the token became fresh). */
  async function waitForHolder(connection: StoredConnection, minValidityMs: number, deadlineMs: number): Promise<StoredConnection> {
    let pause = waitPoll.initial;
    let current = connection;
    for (;;) {
      const lease = current.document.lease;
      const live = lease !== undefined && lease.holder !== null && lease.expiresAtMs > clock.nowMs();
      if (!live || decide(current, minValidityMs).kind !== 'refresh') return current;
      if (clock.nowMs() >= deadlineMs) {
        throw new BrokerError('provider_unavailable', 'A refresh of this connection is taking too long; retry shortly', {
          details: { connectionId: current.id, provider: current.document.provider, reason: 'refresh_in_progress' },
          retryAfterSeconds: 1,
        });
      }
      // Never sleep past the lease's end: a dead holder is taken over as soon as its lease runs out.
      await sleep(Math.max(1, Math.min(pause, lease.expiresAtMs - clock.nowMs() + 5)));
      pause = Math.min(waitPoll.max, Math.ceil(pause * 1.5));
      current = await reread(current.id);
    }
  }

  function clientFor(provider: ProviderDefinition): ClientCredentials {
    const client = dependencies.clients[provider.id];
    if (client === undefined) {
      const variable = `PROVIDER_${provider.id.toUpperCase()}_CLIENT_ID`;
      throw new BrokerError('misconfigured', `No OAuth client is configured for ${provider.id}`, { details: { variables: [variable] } });
    }
    return client;
  }

  async function callProvider(connection: StoredConnection, credentials: Credentials): Promise<TokenSet> {
    const { document } = connection;
    const provider = catalog.resolve(document.provider);
    const client = clientFor(provider);
    if (document.kind === 'client_credentials') {
      return clientCredentialsGrant(oauth, provider, { client, scopes: document.scopes, connectionConfig: document.connectionConfig });
    }
    if (document.kind !== 'oauth2' || !provider.refresh.supported || credentials.refreshToken === undefined) {
      // Nothing can renew this token: only the user can, by connecting again.
      throw new BrokerError('needs_reauth', 'This grant cannot be refreshed', {
        details: { provider: provider.id, providerError: credentials.refreshToken === undefined ? 'no_refresh_token' : 'refresh_not_supported' },
      });
    }
    return refreshGrant(oauth, provider, {
      client,
      refreshToken: credentials.refreshToken,
      scopes: document.scopes,
      connectionConfig: document.connectionConfig,
    });
  }

  function failureFor(error: BrokerError, connection: StoredConnection): RefreshFailure | undefined {
    if (error.code === 'needs_reauth') {
      const stated = error.details?.providerError;
      return { kind: 'dead_grant', reason: typeof stated === 'string' ? stated : 'invalid_grant' };
    }
    if (error.code === 'provider_unavailable' || error.code === 'provider_error') {
      const failures = connection.document.refresh.consecutiveFailures + 1;
      const delay = retryDelayMs(
        failures,
        error.retryAfterSeconds,
        { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs },
        random,
      );
      return {
        kind: 'retryable',
        reason: error.code,
        nextRefreshAtMs: clock.nowMs() + delay,
        failuresBeforeError: settings.failuresBeforeError,
      };
    }
    return undefined;
  }

  /** Stores the new credentials; a transient storage failure is retried while this holder may still write. */
  async function store(
    connection: StoredConnection,
    fence: RefreshFence,
    tokens: TokenSet,
    previous: Credentials,
    sealing: PreparedCredentialsSeal,
    actor: AuditActor,
  ) {
    const credentials: Credentials = {
      accessToken: tokens.accessToken,
      // A reply without a refresh token leaves the stored one in force.
      ...((tokens.refreshToken ?? previous.refreshToken) === undefined ? {} : { refreshToken: tokens.refreshToken ?? previous.refreshToken }),
      ...(previous.tokenSecret === undefined ? {} : { tokenSecret: previous.tokenSecret }),
    };
    // Local work only: the data key was wrapped before the provider call, so KMS cannot fail us here.
    const sealed = sealing.seal(credentials);
    const expiresAtMs = tokens.expiresAtMs ?? null;
    const refreshed = {
      credentials: sealed,
      expiresAtMs,
      nextRefreshAtMs: nextRefreshAtMs(expiresAtMs, clock.nowMs(), settings.aheadMs),
      scopes: tokens.scopes.length > 0 ? tokens.scopes : connection.document.scopes,
      metadata: tokens.metadata,
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await storeRefreshedCredentials(firestore, connection.id, fence, refreshed, actor, writer);
      } catch (error) {
        if (!isBrokerError(error, 'storage_unavailable') || attempt >= STORE_ATTEMPTS) throw error;
        await sleep(100 * attempt);
      }
    }
  }

  /** Runs one refresh while holding the lease; always ends with the lease released or provably lost. */
  async function refreshHeld(connection: StoredConnection, fence: RefreshFence, actor: AuditActor): Promise<RefreshOutcome> {
    const startedMs = clock.nowMs();
    const fields = { connectionId: connection.id, provider: connection.document.provider, leaseVersion: fence.version };
    let previous: Credentials;
    let tokens: TokenSet;
    let sealing: PreparedCredentialsSeal | undefined;
    try {
      ({ credentials: previous } = await open(connection));
      // KMS first: if it is down we fail here, before a rotating provider has invalidated anything.
      sealing = await prepareCredentialsSeal(vault, { connectionId: connection.id, tenantId: connection.document.tenantId });
      tokens = await callProvider(connection, previous);
    } catch (error) {
      sealing?.discard();
      const failure = isBrokerError(error) ? failureFor(error, connection) : undefined;
      if (failure === undefined) {
        await releaseLease(firestore, connectionRef(firestore, connection.id), fence).catch(() => false);
        throw error;
      }
      const recorded = await recordRefreshFailure(firestore, connection.id, fence, failure, actor, writer);
      options.onStateChange?.(connection.id);
      log.warn('refresh.failed', 'Refreshing a connection failed', {
        ...fields,
        errorCode: (error as BrokerError).code,
        reason: failure.reason,
        status: recorded.document.status,
        durationMs: clock.nowMs() - startedMs,
      });
      return { connection: recorded, failure: error as BrokerError };
    }
    await hooks.afterProviderReply?.({ connectionId: connection.id, holder: fence.holder, leaseVersion: fence.version });
    try {
      const stored = await store(connection, fence, tokens, previous, sealing, actor);
      options.onStateChange?.(connection.id);
      log.info('refresh.succeeded', 'Refreshed a connection', { ...fields, durationMs: clock.nowMs() - startedMs });
      return { connection: stored };
    } catch (error) {
      if (isBrokerError(error, 'lease_held') || isBrokerError(error, 'conflict')) {
        // Fenced out: someone else holds (or held) the lease since; their result stands, ours is dropped.
        log.warn('refresh.fenced_out', 'A late refresh result was discarded by the lease fence', { ...fields, errorCode: error.code });
        throw error;
      }
      // The provider may have rotated the refresh token we could not store: say so loudly. The next refresh
      // then meets a dead grant and moves the connection to needs_reauth with its event.
      log.error('refresh.not_stored', 'A refreshed grant could not be stored', { ...fields, error });
      await releaseLease(firestore, connectionRef(firestore, connection.id), fence).catch(() => false);
      throw error;
    }
  }

  /** The cross-instance part: wait for a live holder, or claim the lease and refresh. */
  async function refreshOnce(first: StoredConnection, minValidityMs: number, actor: AuditActor): Promise<RefreshOutcome> {
    const deadlineMs = clock.nowMs() + 2 * settings.leaseTtlMs + 5_000;
    let current = first;
    for (;;) {
      // A holder we waited for may have succeeded (serve), hit a dead grant or started a cooldown: all final here.
      if (decide(current, minValidityMs).kind !== 'refresh') return { connection: current };
      const lease = current.document.lease;
      if (lease !== undefined && lease.holder !== null && lease.expiresAtMs > clock.nowMs()) {
        current = await waitForHolder(current, minValidityMs, deadlineMs);
        continue;
      }
      const holder = `${instanceId}/${ids.newId()}`;
      const claim = await claimLease(firestore, connectionRef(firestore, current.id), { holder, ttlMs: settings.leaseTtlMs, clock });
      if (!claim.claimed) {
        current = await reread(current.id);
        continue;
      }
      // Another holder may have stored fresh tokens between our read and our claim: look again before refreshing.
      const latest = await reread(current.id);
      const fence: RefreshFence = { holder, version: claim.version, expectedUpdatedAtMs: latest.document.updatedAtMs };
      if (decide(latest, minValidityMs).kind !== 'refresh') {
        await releaseLease(firestore, connectionRef(firestore, latest.id), fence).catch(() => false);
        return { connection: latest };
      }
      try {
        return await refreshHeld(latest, fence, actor);
      } catch (error) {
        if (!isBrokerError(error, 'lease_held') && !isBrokerError(error, 'conflict')) throw error;
        if (clock.nowMs() >= deadlineMs) throw error;
        current = await reread(latest.id);
      }
    }
  }

  function shared(connection: StoredConnection, minValidityMs: number, actor: AuditActor): Promise<RefreshOutcome> {
    const running = inFlight.get(connection.id);
    if (running !== undefined) return running;
    const started = refreshOnce(connection, minValidityMs, actor).finally(() => inFlight.delete(connection.id));
    inFlight.set(connection.id, started);
    return started;
  }

  /** After a refresh (ours or another's): the token if it is still usable, else the reason it is not. */
  async function settle(outcome: RefreshOutcome): Promise<FreshCredentials> {
    const { connection, failure } = outcome;
    const { document } = connection;
    const nowMs = clock.nowMs();
    if (document.status === 'revoked' || document.credentials === null) throw notConnectedError(connection);
    if (document.status === 'needs_reauth') throw needsReauthError(connection);
    if (document.expiresAtMs === null || document.expiresAtMs > nowMs) return open(connection);
    const retryAtMs = document.nextRefreshAtMs !== null && document.nextRefreshAtMs > nowMs ? document.nextRefreshAtMs : nowMs + 1000;
    if (failure !== undefined && failure.code !== 'provider_unavailable') {
      throw new BrokerError(failure.code, failure.message, {
        cause: failure,
        details: { ...failure.details, connectionId: connection.id },
        retryAfterSeconds: Math.max(1, Math.ceil((retryAtMs - nowMs) / 1000)),
      });
    }
    throw unavailableUntil(retryAtMs, nowMs, connection, failure);
  }

  /** Whether the sweep may refresh this connection now, or why not. */
  function sweepDecision(connection: StoredConnection, request: SweepRefreshRequest): 'refresh' | SweepSkipReason {
    const { document } = connection;
    const nowMs = clock.nowMs();
    if (document.status === 'revoked' || document.status === 'needs_reauth' || document.credentials === null) return 'not_refreshable';
    const lease = document.lease;
    if (lease !== undefined && lease.holder !== null && lease.expiresAtMs > nowMs) return 'lease_held';
    const next = document.nextRefreshAtMs;
    if (document.refresh.consecutiveFailures > 0 && next !== null && next > nowMs) return 'cooldown';
    if (request.mode.kind === 'force') return 'refresh';
    if (next !== request.mode.expectedNextRefreshAtMs) return 'already_refreshed';
    if (next === null || next > request.mode.dueByMs) return 'not_due';
    return 'refresh';
  }

  async function refreshConnection(connectionId: string, request: SweepRefreshRequest): Promise<SweepRefreshResult> {
    let provider: string | null = null;
    try {
      const holder = `${instanceId}/${ids.newId()}`;
      // Decided and leased in one transaction: the document refreshed is exactly the one judged due.
      const claim = await claimIfDue(firestore, connectionId, {
        holder,
        ttlMs: settings.leaseTtlMs,
        clock,
        decide: (connection) => sweepDecision(connection, request),
      });
      if (!claim.claimed) return { outcome: 'skipped', reason: claim.reason };
      const { connection } = claim;
      provider = connection.document.provider;
      const fence: RefreshFence = { holder, version: claim.version, expectedUpdatedAtMs: connection.document.updatedAtMs };
      const outcome = await refreshHeld(connection, fence, request.actor);
      if (outcome.failure === undefined) return { outcome: 'refreshed', connection: outcome.connection };
      return { outcome: 'failed', reason: outcome.connection.document.refresh.lastErrorCode ?? outcome.failure.code, connection: outcome.connection };
    } catch (error) {
      if (isBrokerError(error, 'lease_held') || isBrokerError(error, 'conflict')) return { outcome: 'skipped', reason: 'fenced_out' };
      const reason = isBrokerError(error) ? error.code : 'internal';
      // Failures the engine could not record on the connection (KMS down, storage, a bug) still count as failed refreshes.
      log.warn('refresh.failed', 'Refreshing a connection failed before anything could be recorded', {
        connectionId,
        provider,
        errorCode: reason,
        error,
      });
      return { outcome: 'failed', reason };
    }
  }

  return {
    instanceId,
    refreshConnection,
    async freshCredentials(connection, { minValidityMs, actor }) {
      if (!Number.isInteger(minValidityMs) || minValidityMs < 0) throw new TypeError('minValidityMs must be a non-negative integer');
      const decision = decide(connection, minValidityMs);
      switch (decision.kind) {
        case 'serve':
          return open(connection);
        case 'revoked':
          throw notConnectedError(connection);
        case 'needs_reauth':
          throw needsReauthError(connection);
        case 'cooldown':
          if (decision.tokenValid) return open(connection);
          throw unavailableUntil(decision.retryAtMs, clock.nowMs(), connection);
        case 'refresh':
          return settle(await shared(connection, minValidityMs, actor));
      }
    },
  };
}
