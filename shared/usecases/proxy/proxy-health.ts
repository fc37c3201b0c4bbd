// What a proxied call teaches about its connection's health: a provider that refuses a fresh token (401), limits the
// connection (429) or is unavailable (503) marks it unhealthy; the next successful call after such a mark clears it.
// Written the way the health sweep writes (events on a flip, audited), only when something is to be said, so a
// healthy connection's calls cost no Firestore write.
import type { Firestore } from '@google-cloud/firestore';
import type { Logger } from '../../log/logger.js';
import type { StoredConnection } from '../../store/connection-reads.js';
import type { AuditActor } from '../../store/connection-refresh-writes.js';
import type { Clock } from '../../time/clock.js';
import type { IdSource } from '../../time/ids.js';
import { recordHealthCheck } from '../../store/connection-health-writes.js';

/** The health error codes a proxied call records, by the provider's status. */
export const proxyHealthErrors: Readonly<Record<number, string>> = { 401: 'proxy_unauthorized', 429: 'proxy_rate_limited', 503: 'proxy_unavailable' };

export interface ProxyHealthDependencies {
  readonly firestore: Firestore;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
}

/** Records the call's verdict when it says something new; returns whether anything was written (events may follow). */
export async function recordProxiedHealth(
  dependencies: ProxyHealthDependencies,
  connection: StoredConnection,
  outcome: { readonly status: number; readonly latencyMs: number },
  actor: AuditActor,
): Promise<boolean> {
  const errorCode = proxyHealthErrors[outcome.status] ?? null;
  const stored = connection.document.health;
  // Success clears only what a proxied call marked: the health sweep's own verdicts are the sweep's to change.
  const clearsProxyMark = errorCode === null && outcome.status < 400 && stored.status === 'unhealthy' && Object.values(proxyHealthErrors).includes(stored.errorCode ?? '');
  if (errorCode === null && !clearsProxyMark) return false;
  try {
    await recordHealthCheck(
      dependencies.firestore,
      connection.id,
      { health: { status: errorCode === null ? 'healthy' : 'unhealthy', checkedAtMs: dependencies.clock.nowMs(), latencyMs: outcome.latencyMs, errorCode } },
      actor,
      dependencies,
    );
    return true;
  } catch (error) {
    // The caller's answer does not wait on bookkeeping: a lost health mark is logged, and the sweep will see the same.
    dependencies.logger.warn('proxy.health_write_failed', 'A proxied call\'s health verdict could not be recorded', {
      connectionId: connection.id,
      errorCode: errorCode ?? 'healthy',
      error,
    });
    return false;
  }
}
