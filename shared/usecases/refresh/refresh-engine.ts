// The refresh engine: fresh credentials on read, one refresh per connection across all instances, no rotated token given up.
//
// How one refresh happens (DESIGN.md "Refresh — the hard part"; the lease is store/lease.ts):
// 1. Within an instance, concurrent reads of one connection share one in-flight refresh (a promise per id): the
//    engine's only state. One engine per runtime (BrokerRuntime.refreshEngine), shared by reads and sweeps.
// 2. Across instances, a claim decides on the stored document and takes the lease in one conditional write. Whoever finds
//    a live lease waits by re-reading (plain reads, never transactions) until it is released or runs out.
// 3. The holder calls the provider and keeps extending its lease meanwhile, up to the reply deadline; it never aborts a
//    call a caller stopped waiting for (the caller gets 503 at its own deadline): a rotating provider may already
//    have rotated, and a reply given up on is a grant lost. The outcome is committed fenced by the lease's version.
// 4. A holder that still lost its lease (frozen past it) keeps its late reply when nothing newer was stored since it
//    claimed. A provider with a documented reuse grace gets one retry with the previous refresh token.
// Failures: a dead grant moves to needs_reauth at once (event + audit, same transaction), with a reason that says
// why; retryable ones schedule the next attempt with backoff, jitter and Retry-After.
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
import { readConnection, type StoredConnection } from '../../store/connection-reads.js';
import {
  type AuditActor,
  type RefreshedCredentials,
  type RefreshFailure,
  recordRefreshFailure,
  storeLateReply,
  storeRefreshedCredentials,
} from '../../store/connection-refresh-writes.js';
import { claimRefreshLease, commitRefresh, extendRefreshLease, isLeaseLive, type RefreshFence } from '../../store/lease.js';
import type { Clock } from '../../time/clock.js';
import type { IdSource } from '../../time/ids.js';
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
 * Test seams, passed in code only (no configuration reaches them): tests simulate a holder that dies or freezes
 * after the provider answered and before anything was stored.
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
  /** How a waiter re-reads: the first pause, growing by half each time up to the cap. */
  readonly waitPollMs?: { readonly initial: number; readonly max: number };
}

export interface FreshCredentials {
  readonly connection: StoredConnection;
  readonly credentials: Credentials;
}

/** What one request caused, filled in as it goes: it travels with the request, never shared between requests. */
export interface RequestEffects {
  /** A refresh this request waited for stored something (tokens, or a failure that may have moved the status). */
  stateChanged: boolean;
}

export interface FreshCredentialsOptions {
  readonly minValidityMs: number;
  /** Who asked, for the audit entries of the refresh this read may cause. */
  readonly actor: AuditActor;
  readonly effects?: RequestEffects;
}

export interface RefreshEngine {
  readonly instanceId: string;
  /**
   * The connection's credentials, valid for `minValidityMs` where the provider allows it. Refreshes under the lease
   * when needed; takes the connection as the caller just read it, so a warm read costs no extra read. Waits at most
   * the configured caller wait for a refresh (then 503; the refresh goes on and stores what arrives).
   */
  freshCredentials(connection: StoredConnection, options: FreshCredentialsOptions): Promise<FreshCredentials>;
  /**
   * The sweeps' entry: refreshes one connection now if it is still due, under the same lease and writes as a read.
   * Never waits for another holder (a live lease: skipped) and never throws for a provider or storage failure
   * (reported as `failed`); see SweepRefreshRequest for when it is "due".
   */
  refreshConnection(connectionId: string, request: SweepRefreshRequest): Promise<SweepRefreshResult>;
  /**
   * Resolves once no refresh is running in this engine, those started meanwhile included: what a process shutting
   * down awaits before it closes its clients, so a reply still on its way is stored rather than dropped.
   */
  settled(): Promise<void>;
}

export interface SweepRefreshRequest {
  readonly actor: AuditActor;
  /** The connection as the sweep's query read it, if it has it: the claim decides on it and reads only if it changed. */
  readonly seen?: StoredConnection | undefined;
  /**
   * `due`: refresh when `nextRefreshAtMs <= dueByMs` (never before a failure's backoff ends), and only if
   * `nextRefreshAtMs` still is `expectedNextRefreshAtMs` (what the sweep's query saw; a change means someone
   * refreshed it since). `force`: refresh unless in backoff — the health check's refresh of an expired or refused token.
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
  /** `reason`: the dead-grant reason, or the error code of a retryable or unexpected failure. */
  | { readonly outcome: 'failed'; readonly reason: string; readonly connection?: StoredConnection };

interface RefreshOutcome {
  readonly connection: StoredConnection;
  /** The failure this refresh (or the refresh it waited for) ran into, if any. */
  readonly failure?: BrokerError;
  /** Whether this engine stored anything for it. */
  readonly stored: boolean;
}

/** The engine: its dependencies, resolved options, and the in-flight refreshes (its only state). */
interface Engine {
  readonly deps: RefreshEngineDependencies;
  readonly instanceId: string;
  readonly random: () => number;
  readonly hooks: RefreshEngineHooks;
  readonly minRefreshIntervalMs: number;
  readonly waitPoll: { readonly initial: number; readonly max: number };
  readonly inFlight: Map<string, Promise<RefreshOutcome>>;
  readonly log: Logger;
}

const DEFAULT_MIN_REFRESH_INTERVAL_MS = 30_000;
const DEFAULT_WAIT_POLL = { initial: 25, max: 250 } as const;
const STORE_ATTEMPTS = 3;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const isFenced = (error: unknown) => isBrokerError(error, 'lease_held') || isBrokerError(error, 'conflict');

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

function refreshInProgress(connection: StoredConnection): BrokerError {
  return new BrokerError('provider_unavailable', 'A refresh of this connection is taking longer than this read waits; retry shortly', {
    details: { connectionId: connection.id, provider: connection.document.provider, reason: 'refresh_in_progress' },
    retryAfterSeconds: 2,
  });
}

async function open(engine: Engine, connection: StoredConnection): Promise<Credentials> {
  const { credentials, tenantId } = connection.document;
  if (credentials === null) throw notConnectedError(connection);
  return openCredentials(engine.deps.vault, credentials, { connectionId: connection.id, tenantId });
}

async function reread(engine: Engine, connectionId: string): Promise<StoredConnection> {
  const latest = await readConnection(engine.deps.firestore, connectionId);
  if (latest === undefined) throw new BrokerError('not_connected', 'The connection no longer exists', { details: { connectionId } });
  return latest;
}

const decide = (engine: Engine, connection: StoredConnection, minValidityMs: number) =>
  decideRead(connection.document, { nowMs: engine.deps.clock.nowMs(), minValidityMs, minRefreshIntervalMs: engine.minRefreshIntervalMs });

function clientFor(engine: Engine, provider: ProviderDefinition): ClientCredentials {
  const client = engine.deps.clients[provider.id];
  if (client === undefined) {
    const variable = `PROVIDER_${provider.id.toUpperCase()}_CLIENT_ID`;
    throw new BrokerError('misconfigured', `No OAuth client is configured for ${provider.id}`, { details: { variables: [variable] } });
  }
  return client;
}

/** The previous refresh token, while the provider's documented reuse grace still covers it. */
function graceToken(engine: Engine, provider: ProviderDefinition, credentials: Credentials): string | undefined {
  const graceSeconds = provider.refresh.supported ? provider.refresh.reuseGraceSeconds : undefined;
  const { previousRefreshToken, rotatedAtMs } = credentials;
  if (graceSeconds === undefined || previousRefreshToken === undefined || rotatedAtMs === undefined) return undefined;
  return engine.deps.clock.nowMs() - rotatedAtMs < graceSeconds * 1000 ? previousRefreshToken : undefined;
}

/** The provider call, waiting up to the reply deadline; a dead-grant answer gets one retry with a token still in its grace. */
async function callProvider(engine: Engine, connection: StoredConnection, credentials: Credentials): Promise<{ tokens: TokenSet; usedRefreshToken?: string }> {
  const { document } = connection;
  const { oauth, catalog, settings } = engine.deps;
  const provider = catalog.resolve(document.provider);
  const client = clientFor(engine, provider);
  if (document.kind === 'client_credentials') {
    return { tokens: await clientCredentialsGrant(oauth, provider, { client, scopes: document.scopes, connectionConfig: document.connectionConfig }) };
  }
  if (document.kind !== 'oauth2' || !provider.refresh.supported || credentials.refreshToken === undefined) {
    // Nothing can renew this token: only the user can, by connecting again.
    throw new BrokerError('needs_reauth', 'This grant cannot be refreshed', {
      details: { provider: provider.id, providerError: credentials.refreshToken === undefined ? 'no_refresh_token' : 'refresh_not_supported' },
    });
  }
  const refreshWith = async (refreshToken: string) => ({
    tokens: await refreshGrant(oauth, provider, {
      client,
      refreshToken,
      scopes: document.scopes,
      connectionConfig: document.connectionConfig,
      timeoutMs: settings.replyDeadlineMs,
    }),
    usedRefreshToken: refreshToken,
  });
  try {
    return await refreshWith(credentials.refreshToken);
  } catch (error) {
    const previous = graceToken(engine, provider, credentials);
    if (!isBrokerError(error, 'needs_reauth') || previous === undefined) throw error;
    engine.log.warn('refresh.grace_retry', 'The stored refresh token was refused; retrying once with the previous one, inside the provider\'s reuse grace', {
      connectionId: connection.id,
      provider: provider.id,
    });
    return refreshWith(previous);
  }
}

function failureFor(engine: Engine, error: BrokerError, connection: StoredConnection, tookOverFrom: string | null): RefreshFailure | undefined {
  const { settings, clock } = engine.deps;
  if (error.code === 'needs_reauth') {
    const stated = error.details?.providerError;
    const code = typeof stated === 'string' ? stated : 'invalid_grant';
    // The lease we took had run out on a holder mid-refresh: its reply (and any rotated token in it) never got stored.
    return { kind: 'dead_grant', reason: tookOverFrom === null ? code : `${code}:after_lost_refresh_reply` };
  }
  if (error.code === 'provider_unavailable' || error.code === 'provider_error') {
    const failures = connection.document.refresh.consecutiveFailures + 1;
    const delay = retryDelayMs(failures, error.retryAfterSeconds, { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs }, engine.random);
    return { kind: 'retryable', reason: error.code, nextRefreshAtMs: clock.nowMs() + delay, failuresBeforeError: settings.failuresBeforeError };
  }
  return undefined;
}

/**
 * Extends the lease a quarter of its TTL after the last extension landed (three tries before it could run out), until stopped (never two extensions at once).
 * A lost lease is only logged: the commit's fence decides what happens to the reply.
 */
function keepLeaseAlive(engine: Engine, connectionId: string, fence: RefreshFence): () => void {
  const { firestore, settings, clock } = engine.deps;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const beat = async () => {
    const held = await extendRefreshLease(firestore, connectionId, fence, { ttlMs: settings.leaseTtlMs, clock }).catch((error: unknown) => {
      if (!stopped) engine.log.warn('refresh.lease_extend_failed', 'Extending the refresh lease failed; retrying at the next beat', { connectionId, error });
      return true;
    });
    // An extension that raced the commit and lost says nothing: the outcome is committed and the lease released.
    if (stopped) return;
    if (!held) engine.log.warn('refresh.lease_lost', 'The refresh lease was lost while waiting for the provider', { connectionId, leaseVersion: fence.version });
    else schedule();
  };
  const schedule = () => {
    if (!stopped) timer = setTimeout(() => void beat(), Math.max(1, Math.floor(settings.leaseTtlMs / 4)));
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function refreshedCredentials(engine: Engine, connection: StoredConnection, provider: ProviderDefinition, previous: Credentials, reply: { tokens: TokenSet; usedRefreshToken?: string }, sealing: PreparedCredentialsSeal): RefreshedCredentials {
  const { tokens, usedRefreshToken } = reply;
  const nowMs = engine.deps.clock.nowMs();
  // A reply without a refresh token leaves the one sent in force.
  const refreshToken = tokens.refreshToken ?? usedRefreshToken ?? previous.refreshToken;
  const rotated = refreshToken !== undefined && usedRefreshToken !== undefined && refreshToken !== usedRefreshToken;
  const keepsPrevious = rotated && provider.refresh.supported && provider.refresh.reuseGraceSeconds !== undefined;
  const credentials: Credentials = {
    accessToken: tokens.accessToken,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(previous.tokenSecret === undefined ? {} : { tokenSecret: previous.tokenSecret }),
    ...(keepsPrevious ? { previousRefreshToken: usedRefreshToken, rotatedAtMs: nowMs } : {}),
  };
  const expiresAtMs = tokens.expiresAtMs ?? null;
  return {
    // Local work only: the data key was wrapped before the provider call, so KMS cannot fail us here.
    credentials: sealing.seal(credentials),
    expiresAtMs,
    nextRefreshAtMs: nextRefreshAtMs(expiresAtMs, nowMs, engine.deps.settings.aheadMs),
    scopes: tokens.scopes.length > 0 ? tokens.scopes : connection.document.scopes,
    metadata: tokens.metadata,
  };
}

/** Commits the new credentials, retrying transient storage failures; a holder that lost its lease keeps its reply if it may. */
async function store(engine: Engine, connection: StoredConnection, fence: RefreshFence, refreshed: RefreshedCredentials, actor: AuditActor): Promise<StoredConnection> {
  const { firestore } = engine.deps;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await storeRefreshedCredentials(firestore, connection.id, fence, refreshed, actor, engine.deps);
    } catch (error) {
      if (isBrokerError(error, 'lease_held')) return storeLateReply(firestore, connection.id, fence, refreshed, actor, engine.deps);
      if (!isBrokerError(error, 'storage_unavailable') || attempt >= STORE_ATTEMPTS) throw error;
      await sleep(100 * attempt);
    }
  }
}

/** Gives the lease back with nothing else changed (a commit of no outcome); a failure here only leaves it to run out. */
async function release(engine: Engine, connectionId: string, fence: RefreshFence): Promise<void> {
  await commitRefresh(engine.deps.firestore, connectionId, fence, () => ({})).catch(() => undefined);
}

/** Runs one refresh while holding the lease; ends with the outcome committed, or the lease provably lost. */
async function refreshHeld(engine: Engine, connection: StoredConnection, fence: RefreshFence, actor: AuditActor, tookOverFrom: string | null): Promise<RefreshOutcome> {
  const { vault, clock, catalog, firestore } = engine.deps;
  const startedMs = clock.nowMs();
  const fields = { connectionId: connection.id, provider: connection.document.provider, leaseVersion: fence.version };
  const provider = catalog.resolve(connection.document.provider);
  let previous: Credentials | undefined;
  let sealing: PreparedCredentialsSeal | undefined;
  let reply: Awaited<ReturnType<typeof callProvider>>;
  const stopExtending = keepLeaseAlive(engine, connection.id, fence);
  try {
    previous = await open(engine, connection);
    // KMS first: if it is down we fail here, before a rotating provider has invalidated anything.
    sealing = await prepareCredentialsSeal(vault, { connectionId: connection.id, tenantId: connection.document.tenantId });
    reply = await callProvider(engine, connection, previous);
  } catch (error) {
    stopExtending();
    sealing?.discard();
    const failure = isBrokerError(error) ? failureFor(engine, error, connection, tookOverFrom) : undefined;
    if (failure === undefined) {
      // Not the provider's answer (KMS down, a bug): nothing to record, the lease is given back for the next try.
      await release(engine, connection.id, fence);
      throw error;
    }
    const recorded = await recordRefreshFailure(firestore, connection.id, fence, failure, actor, engine.deps);
    engine.log.warn('refresh.failed', 'Refreshing a connection failed', {
      ...fields,
      errorCode: (error as BrokerError).code,
      reason: failure.reason,
      status: recorded.document.status,
      durationMs: clock.nowMs() - startedMs,
    });
    return { connection: recorded, failure: error as BrokerError, stored: true };
  }
  stopExtending();
  await engine.hooks.afterProviderReply?.({ connectionId: connection.id, holder: fence.holder, leaseVersion: fence.version });
  // Held until the reply is committed: a commit slowed by contention (an abort and the client's backoff) must not
  // outlast the lease, or another instance claims it and refreshes again with the token this reply just replaced.
  const stopExtendingWhileStoring = keepLeaseAlive(engine, connection.id, fence);
  try {
    const stored = await store(engine, connection, fence, refreshedCredentials(engine, connection, provider, previous, reply, sealing), actor);
    const late = stored.document.lease?.version !== fence.version;
    if (late) engine.log.warn('refresh.late_reply_kept', 'A refresh reply that arrived after its lease was lost was stored: nothing newer had been', fields);
    else engine.log.info('refresh.succeeded', 'Refreshed a connection', { ...fields, durationMs: clock.nowMs() - startedMs });
    return { connection: stored, stored: true };
  } catch (error) {
    if (isFenced(error)) {
      // Newer credentials, a reconnect or a revoke came first: they stand, this reply is superseded.
      engine.log.warn('refresh.fenced_out', 'A late refresh result was discarded: newer credentials were stored first', { ...fields, errorCode: (error as BrokerError).code });
      throw error;
    }
    // The provider may have rotated the refresh token we could not store: say so loudly. The next holder refreshes
    // with the stored token (recovered where the provider still accepts it, else needs_reauth saying why).
    engine.log.error('refresh.not_stored', 'A refreshed grant could not be stored', { ...fields, error });
    stopExtendingWhileStoring();
    await release(engine, connection.id, fence);
    throw error;
  } finally {
    stopExtendingWhileStoring();
  }
}

/** Re-reads until the live lease seen in `connection` is released or expires (or the token became fresh). */
async function waitForHolder(engine: Engine, connection: StoredConnection, minValidityMs: number, deadlineMs: number): Promise<StoredConnection> {
  const { clock } = engine.deps;
  let pause = engine.waitPoll.initial;
  let current = connection;
  for (;;) {
    const lease = current.document.lease;
    if (!isLeaseLive(lease, clock.nowMs()) || decide(engine, current, minValidityMs).kind !== 'refresh') return current;
    if (clock.nowMs() >= deadlineMs) throw refreshInProgress(current);
    // Never sleep past the lease's end: a dead holder is taken over as soon as its lease runs out.
    await sleep(Math.max(1, Math.min(pause, lease.expiresAtMs - clock.nowMs() + 5)));
    pause = Math.min(engine.waitPoll.max, Math.ceil(pause * 1.5));
    current = await reread(engine, current.id);
  }
}

/** The cross-instance part: wait for a live holder, or claim the lease and refresh. Bounded by the reply deadline. */
async function refreshOnce(engine: Engine, first: StoredConnection, minValidityMs: number, actor: AuditActor): Promise<RefreshOutcome> {
  const { clock, settings, firestore, ids } = engine.deps;
  const deadlineMs = clock.nowMs() + settings.replyDeadlineMs + 2 * settings.leaseTtlMs;
  let current = first;
  for (;;) {
    // A holder we waited for may have succeeded (serve), hit a dead grant or started a cooldown: all final here.
    if (decide(engine, current, minValidityMs).kind !== 'refresh') return { connection: current, stored: false };
    if (isLeaseLive(current.document.lease, clock.nowMs())) {
      current = await waitForHolder(engine, current, minValidityMs, deadlineMs);
      continue;
    }
    const holder = `${engine.instanceId}/${ids.newId()}`;
    const claim = await claimRefreshLease(firestore, current.id, {
      seen: current,
      holder,
      ttlMs: settings.leaseTtlMs,
      clock,
      decide: (stored) => (decide(engine, stored, minValidityMs).kind === 'refresh' ? 'claim' : 'not_needed'),
    });
    if (!claim.claimed) {
      if (claim.reason === 'gone') throw new BrokerError('not_connected', 'The connection no longer exists', { details: { connectionId: current.id } });
      current = claim.connection;
      continue;
    }
    try {
      return await refreshHeld(engine, claim.connection, claim.fence, actor, claim.tookOverFrom);
    } catch (error) {
      if (!isFenced(error) || clock.nowMs() >= deadlineMs) throw error;
      current = await reread(engine, current.id);
    }
  }
}

function shared(engine: Engine, connection: StoredConnection, minValidityMs: number, actor: AuditActor): Promise<RefreshOutcome> {
  const running = engine.inFlight.get(connection.id);
  if (running !== undefined) return running;
  const started = refreshOnce(engine, connection, minValidityMs, actor).finally(() => engine.inFlight.delete(connection.id));
  // Callers may stop waiting (their deadline) while it runs on: its failure is theirs to see, never an unhandled rejection.
  started.catch(() => undefined);
  engine.inFlight.set(connection.id, started);
  return started;
}

/** The refresh's outcome, or a 503 once the caller has waited its configured time (the refresh itself goes on). */
async function withinCallerWait(engine: Engine, connection: StoredConnection, refresh: Promise<RefreshOutcome>): Promise<RefreshOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(refreshInProgress(connection)), engine.deps.settings.callerWaitMs);
  });
  try {
    return await Promise.race([refresh, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

/** After a refresh (ours or another's): the token if it is still usable, else the reason it is not. */
async function settle(engine: Engine, outcome: RefreshOutcome, effects: RequestEffects | undefined): Promise<FreshCredentials> {
  const { connection, failure } = outcome;
  if (outcome.stored && effects !== undefined) effects.stateChanged = true;
  const { document } = connection;
  const nowMs = engine.deps.clock.nowMs();
  if (document.status === 'revoked' || document.credentials === null) throw notConnectedError(connection);
  if (document.status === 'needs_reauth') throw needsReauthError(connection);
  if (document.expiresAtMs === null || document.expiresAtMs > nowMs) {
    return { connection, credentials: await open(engine, connection) };
  }
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

async function freshCredentials(engine: Engine, connection: StoredConnection, { minValidityMs, actor, effects }: FreshCredentialsOptions): Promise<FreshCredentials> {
  if (!Number.isInteger(minValidityMs) || minValidityMs < 0) throw new TypeError('minValidityMs must be a non-negative integer');
  const decision = decide(engine, connection, minValidityMs);
  const served = async () => ({ connection, credentials: await open(engine, connection) });
  switch (decision.kind) {
    case 'serve':
      return served();
    case 'revoked':
      throw notConnectedError(connection);
    case 'needs_reauth':
      throw needsReauthError(connection);
    case 'cooldown':
      if (decision.tokenValid) return served();
      throw unavailableUntil(decision.retryAtMs, engine.deps.clock.nowMs(), connection);
    case 'refresh':
      return settle(engine, await withinCallerWait(engine, connection, shared(engine, connection, minValidityMs, actor)), effects);
  }
}

/** Whether the sweep may refresh this connection now, or why not (a live lease is refused by the claim itself). */
function sweepDecision(connection: StoredConnection, request: SweepRefreshRequest, nowMs: number): 'claim' | SweepSkipReason {
  const { document } = connection;
  if (document.status === 'revoked' || document.status === 'needs_reauth' || document.credentials === null) return 'not_refreshable';
  const next = document.nextRefreshAtMs;
  if (document.refresh.consecutiveFailures > 0 && next !== null && next > nowMs) return 'cooldown';
  if (request.mode.kind === 'force') return 'claim';
  if (next !== request.mode.expectedNextRefreshAtMs) return 'already_refreshed';
  if (next === null || next > request.mode.dueByMs) return 'not_due';
  return 'claim';
}

async function refreshConnection(engine: Engine, connectionId: string, request: SweepRefreshRequest): Promise<SweepRefreshResult> {
  const { firestore, settings, clock, ids } = engine.deps;
  let provider: string | null = null;
  try {
    const claim = await claimRefreshLease(firestore, connectionId, {
      seen: request.seen,
      holder: `${engine.instanceId}/${ids.newId()}`,
      ttlMs: settings.leaseTtlMs,
      clock,
      decide: (connection, nowMs) => sweepDecision(connection, request, nowMs),
    });
    if (!claim.claimed) return { outcome: 'skipped', reason: claim.reason };
    provider = claim.connection.document.provider;
    const outcome = await refreshHeld(engine, claim.connection, claim.fence, request.actor, claim.tookOverFrom);
    if (outcome.failure === undefined) return { outcome: 'refreshed', connection: outcome.connection };
    return { outcome: 'failed', reason: outcome.connection.document.refresh.lastErrorCode ?? outcome.failure.code, connection: outcome.connection };
  } catch (error) {
    if (isFenced(error)) return { outcome: 'skipped', reason: 'fenced_out' };
    const reason = isBrokerError(error) ? error.code : 'internal';
    // Failures the engine could not record on the connection (storage, a bug) still count as failed refreshes.
    engine.log.warn('refresh.failed', 'Refreshing a connection failed before anything could be recorded', { connectionId, provider, errorCode: reason, error });
    return { outcome: 'failed', reason };
  }
}

/** The engine of one runtime (build it once: BrokerRuntime.refreshEngine); tests build several to play several instances. */
export function createRefreshEngine(deps: RefreshEngineDependencies, options: RefreshEngineOptions = {}): RefreshEngine {
  const engine: Engine = {
    deps,
    instanceId: options.instanceId ?? deps.ids.newId(),
    random: options.random ?? Math.random,
    hooks: options.hooks ?? {},
    minRefreshIntervalMs: options.minRefreshIntervalMs ?? DEFAULT_MIN_REFRESH_INTERVAL_MS,
    waitPoll: options.waitPollMs ?? DEFAULT_WAIT_POLL,
    inFlight: new Map(),
    log: deps.logger.child({ labels: { component: 'refresh' } }),
  };
  return {
    instanceId: engine.instanceId,
    freshCredentials: (connection, readOptions) => freshCredentials(engine, connection, readOptions),
    refreshConnection: (connectionId, request) => refreshConnection(engine, connectionId, request),
    async settled() {
      while (engine.inFlight.size > 0) await Promise.allSettled([...engine.inFlight.values()]);
    },
  };
}
