// One connection's health check: an expired token is refreshed first (never probed with); the provider is probed as the
// connection; on an auth failure one refresh and a second probe before needs_reauth; status, latency, error and events recorded.
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import type { Logger } from '../../log/logger.js';
import { openCredentials } from '../../store/connection-credentials.js';
import { readConnection, type StoredConnection } from '../../store/connection-reads.js';
import type { AuditActor } from '../../store/connection-refresh-writes.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import type { SweepRefreshResult } from '../refresh/refresh-engine.js';
import { type HealthRecord, recordHealthCheck } from '../../store/connection-health-writes.js';
import { type ProbeKind, probeIdentity } from './identity-probes.js';
import { schedulerActor } from './sweep-settings.js';

export const healthOutcomes = ['healthy', 'unhealthy', 'needs_reauth', 'skipped'] as const;
export type HealthOutcome = (typeof healthOutcomes)[number];

export interface HealthCheckResult {
  readonly connectionId: string;
  readonly outcome: HealthOutcome;
  /** The provider's or broker's error code of an unhealthy check; why a check was skipped. */
  readonly reason: string | null;
  readonly latencyMs: number | null;
  /** Whether the check refreshed the grant after an auth failure. */
  readonly refreshed: boolean;
  readonly probe: ProbeKind | null;
}

export interface HealthCheckOptions {
  readonly actor?: AuditActor;
  readonly logger?: Logger;
}

// Connections a check can prove something about: `error` ones are checked when asked (admin), the sweep takes active ones.
const checkableStatuses: ReadonlySet<string> = new Set(['active', 'error']);

function errorCodeOf(error: unknown): string {
  if (!isBrokerError(error)) return 'internal';
  const stated = error.details?.providerError;
  return typeof stated === 'string' ? stated : error.code;
}

export async function checkConnectionHealth(runtime: BrokerRuntime, connectionId: string, options: HealthCheckOptions = {}): Promise<HealthCheckResult> {
  const { clock } = runtime;
  const logger = (options.logger ?? runtime.logger).child({ labels: { component: 'health' } });
  const actor = options.actor ?? schedulerActor(runtime.config);
  const engine = runtime.refreshEngine();
  const firestore = runtime.firestore();
  const skipped = (reason: string): HealthCheckResult => ({ connectionId, outcome: 'skipped', reason, latencyMs: null, refreshed: false, probe: null });

  const connection = await readConnection(firestore, connectionId);
  if (connection === undefined) return skipped('gone');
  const { document } = connection;
  if (!checkableStatuses.has(document.status) || document.credentials === null) return skipped('not_checkable');
  // OAuth 1.0a calls are signed per request; no identity probe is defined for them.
  if (document.kind === 'oauth1') return skipped('no_probe');
  const provider = runtime.catalog.resolve(document.provider);
  const client = runtime.config.providerClients[provider.id];

  /** The check of a connection whose token expired and could not be refreshed now: the refresh's verdict, no probe. */
  function expiredOutcome(refresh: Exclude<SweepRefreshResult, { outcome: 'refreshed' }>): HealthCheckResult {
    if (refresh.outcome === 'skipped') return skipped(`token_expired:${refresh.reason}`);
    // A dead grant was recorded by the refresh itself (status, health, event); anything else waits for the next check.
    const outcome: HealthOutcome = refresh.connection?.document.status === 'needs_reauth' ? 'needs_reauth' : 'unhealthy';
    logger.notice('health.checked', 'Connection is not healthy: its expired token could not be refreshed', { connectionId, provider: provider.id, outcome, errorCode: refresh.reason });
    return { connectionId, outcome, reason: refresh.reason, latencyMs: null, refreshed: false, probe: null };
  }

  async function probe(current: StoredConnection): Promise<{ kind: ProbeKind | null; latencyMs: number; error?: unknown }> {
    const sealed = current.document.credentials;
    if (sealed === null) throw new BrokerError('not_connected', 'The connection was revoked during its health check', { details: { connectionId } });
    const credentials = await openCredentials(runtime.vault(), sealed, { connectionId, tenantId: current.document.tenantId });
    const startedMs = clock.nowMs();
    try {
      const kind = await probeIdentity(runtime.oauth(), { provider, document: current.document, accessToken: credentials.accessToken, client });
      return { kind, latencyMs: clock.nowMs() - startedMs };
    } catch (error) {
      return { kind: null, latencyMs: clock.nowMs() - startedMs, error };
    }
  }

  let refreshed = false;
  let current = connection;
  // An expired access token proves nothing about the grant: refresh first, never probe with it.
  if (document.expiresAtMs !== null && document.expiresAtMs <= clock.nowMs()) {
    const refresh = await engine.refreshConnection(connectionId, { actor, mode: { kind: 'force' } });
    if (refresh.outcome !== 'refreshed') return expiredOutcome(refresh);
    refreshed = true;
    current = refresh.connection;
  }

  let attempt = await probe(current);
  let needsReauthReason: string | undefined;
  if (refreshed && attempt.error !== undefined && isBrokerError(attempt.error, 'needs_reauth')) {
    // Refused with a token refreshed a moment ago: the grant itself is dead.
    needsReauthReason = errorCodeOf(attempt.error);
  } else if (attempt.error !== undefined && isBrokerError(attempt.error, 'needs_reauth')) {
    // The token may just have expired or been rotated elsewhere: one refresh, then a second look, before blaming the grant.
    const refresh = await engine.refreshConnection(connectionId, { actor, mode: { kind: 'force' } });
    if (refresh.outcome === 'refreshed') {
      refreshed = true;
      attempt = await probe(refresh.connection);
      if (attempt.error !== undefined && isBrokerError(attempt.error, 'needs_reauth')) needsReauthReason = errorCodeOf(attempt.error);
    }
    // A refresh that failed on a dead grant moved the connection to needs_reauth itself (with its event); one that
    // was skipped (backoff, someone else refreshing) or failed for another reason leaves the verdict to the next check.
  }

  const checkedAtMs = clock.nowMs();
  const errorCode = attempt.error === undefined ? null : errorCodeOf(attempt.error);
  const health: HealthRecord = {
    status: attempt.error === undefined ? 'healthy' : 'unhealthy',
    checkedAtMs,
    latencyMs: attempt.latencyMs,
    errorCode,
  };
  const stored = await recordHealthCheck(firestore, connectionId, { health, ...(needsReauthReason ? { needsReauthReason } : {}) }, actor, runtime);
  if (attempt.error !== undefined && !isBrokerError(attempt.error)) {
    // Not a provider answer: a bug or a library failure; the check is recorded as unhealthy, the cause logged in full.
    logger.error('health.check_failed', 'A health check failed unexpectedly', { connectionId, provider: provider.id, error: attempt.error });
  }
  const outcome: HealthOutcome =
    stored?.document.status === 'needs_reauth' ? 'needs_reauth' : attempt.error === undefined ? 'healthy' : 'unhealthy';
  const fields = { connectionId, provider: provider.id, outcome, latencyMs: attempt.latencyMs, errorCode, status: stored?.document.status ?? null };
  if (outcome === 'healthy') logger.debug('health.checked', 'Connection is healthy', fields);
  else logger.notice('health.checked', 'Connection is not healthy', fields);
  return { connectionId, outcome, reason: errorCode, latencyMs: attempt.latencyMs, refreshed, probe: attempt.kind };
}

