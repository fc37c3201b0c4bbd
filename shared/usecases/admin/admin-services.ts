// What the admin operations run on beyond the runtime: the refresh engine, a vault per re-wrap run, the sweeps
// (in-process, or the deployed refresh job through Cloud Scheduler), and the time budget of long operations.
import type { z } from 'zod';
import { lazy } from '../../async/lazy.js';
import type { Operator } from '../../auth/admin-operator.js';
import { createVault, type Vault } from '../../crypto/vault.js';
import { BrokerError } from '../../errors/broker-error.js';
import type { Logger } from '../../log/logger.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import type { RefreshEngine } from '../refresh/refresh-engine.js';
import { checkConnectionHealth } from '../sweeps/check-connection-health.js';
import type { healthCheckResultSchema, sweepResultSchema } from './admin-schemas.js';
import { adminConnectionView } from './admin-connection-view.js';
import { requireConnection } from './connection-queries.js';
import { operatorActor } from './operator-audit.js';

type SweepResult = z.infer<typeof sweepResultSchema>;

export interface AdminServices {
  refreshEngine(): RefreshEngine;
  /** A vault of its own for one re-wrap run (so it reads the KMS primary version afresh); the run closes it. */
  openVault(): Vault;
  /** How long a re-wrap run may keep starting batches: inside the function's timeout, with room to save. */
  readonly rewrapBudgetMs: number;
  refreshSweep(operator: Operator, logger: Logger): Promise<SweepResult>;
  healthSweep(operator: Operator, logger: Logger): Promise<SweepResult>;
  checkHealth(operator: Operator, connectionId: string): Promise<z.infer<typeof healthCheckResultSchema>>;
}

/** Starts a Cloud Scheduler job now (CloudSchedulerClient.runJob), given its full resource name. */
export type SchedulerJobRunner = (jobName: string) => Promise<void>;

export interface AdminServicesOptions {
  readonly rewrapBudgetMs?: number;
  /** Replaces the lazily loaded @google-cloud/scheduler client (tests). */
  readonly runSchedulerJob?: SchedulerJobRunner;
}

/** The admin function's timeout is 300 s (terraform/locals.tf): stop starting batches well before it. */
export const DEFAULT_REWRAP_BUDGET_MS = 240_000;

/** Loads @google-cloud/scheduler on first use only: every other admin request skips its cold-start cost. */
function lazySchedulerRunner(): SchedulerJobRunner {
  const client = lazy(() => import('@google-cloud/scheduler').then(({ CloudSchedulerClient }) => new CloudSchedulerClient()));
  return async (jobName) => {
    await (await client()).runJob({ name: jobName });
  };
}

/** Sweep reports hold counts, flags and small maps of counts: flattened to `name` / `name.key` for the API. */
export function flattenReport(report: object, prefix = ''): Record<string, number | boolean | string | null> {
  const flat: Record<string, number | boolean | string | null> = {};
  for (const [key, value] of Object.entries(report)) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (value === null || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') flat[name] = value;
    else if (typeof value === 'object' && !Array.isArray(value)) Object.assign(flat, flattenReport(value as object, name));
  }
  return flat;
}

export function createAdminServices(runtime: BrokerRuntime, options: AdminServicesOptions = {}): AdminServices {
  const runSchedulerJob = options.runSchedulerJob ?? lazySchedulerRunner();
  return {
    refreshEngine: () => runtime.refreshEngine(),
    openVault: () => createVault(runtime.config, { clock: runtime.clock, logger: runtime.logger }),
    rewrapBudgetMs: options.rewrapBudgetMs ?? DEFAULT_REWRAP_BUDGET_MS,
    async refreshSweep(operator, logger) {
      const job = runtime.config.admin.schedulerRefreshJob;
      if (job !== undefined) {
        // The deployed job runs the sweep in the refresh function, with its own timeout and identity.
        try {
          await runSchedulerJob(job);
        } catch (error) {
          throw new BrokerError('scheduler_unavailable', 'Cloud Scheduler could not start the refresh job; retry later', {
            cause: error,
            details: { schedulerJob: job },
            retryAfterSeconds: 5,
          });
        }
        return { ranIn: 'cloud_scheduler', summary: null, schedulerJob: job };
      }
      // The sweeps are an operator's rare action: their modules load when one runs, not on every admin cold start.
      const { runRefreshSweep } = await import('../sweeps/refresh-sweep.js');
      const report = await runRefreshSweep(runtime, { actor: operatorActor(operator), logger });
      return { ranIn: 'admin_function', summary: flattenReport(report), schedulerJob: null };
    },
    async healthSweep(operator, logger) {
      // Asked for "all now": connections checked a moment ago by the schedule are checked again too.
      const { runHealthSweep } = await import('../sweeps/health-sweep.js');
      const report = await runHealthSweep(runtime, { actor: operatorActor(operator), logger, recheckMs: 0 });
      return { ranIn: 'admin_function', summary: flattenReport(report), schedulerJob: null };
    },
    async checkHealth(operator, connectionId) {
      await requireConnection(runtime, connectionId);
      const result = await checkConnectionHealth(runtime, connectionId, { actor: operatorActor(operator) });
      const after = await requireConnection(runtime, connectionId);
      return {
        connectionId,
        outcome: result.outcome,
        reason: result.reason,
        latencyMs: result.latencyMs,
        refreshed: result.refreshed,
        connection: adminConnectionView(after),
      };
    },
  };
}
