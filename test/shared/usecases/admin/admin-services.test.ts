// "Refresh all" where a Scheduler job is configured: the deployed job is started, nothing runs in the admin function.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../shared/config/config.js';
import { isBrokerError } from '../../../../shared/errors/broker-error.js';
import { createAdminServices, flattenReport } from '../../../../shared/usecases/admin/admin-services.js';
import { createBrokerRuntime } from '../../../../shared/usecases/broker-runtime.js';

const JOB = 'projects/acme-prod/locations/europe-west1/jobs/broker-refresh';
const operator = { email: 'ops@example.com', via: 'iap' } as const;

function runtimeWith(env: Record<string, string>) {
  const config = loadConfig({ GOOGLE_CLOUD_PROJECT: 'acme-prod', LOG_LEVEL: 'ERROR', ...env });
  return createBrokerRuntime(config);
}

describe('refresh all through Cloud Scheduler', () => {
  it('starts the configured job and reports where the sweep runs', async () => {
    const started: string[] = [];
    const runtime = runtimeWith({ SCHEDULER_REFRESH_JOB: JOB });
    const services = createAdminServices(runtime, { runSchedulerJob: async (name) => void started.push(name) });
    await expect(services.refreshSweep(operator, runtime.logger)).resolves.toEqual({ ranIn: 'cloud_scheduler', summary: null, schedulerJob: JOB });
    expect(started).toEqual([JOB]);
  });

  it('refuses a job name that is not a Scheduler resource name at start-up', () => {
    expect(() => runtimeWith({ SCHEDULER_REFRESH_JOB: 'broker-refresh' })).toThrow(/SCHEDULER_REFRESH_JOB/);
  });

  it('says the job could not be started, as a retryable problem', async () => {
    const runtime = runtimeWith({ SCHEDULER_REFRESH_JOB: JOB });
    const services = createAdminServices(runtime, {
      runSchedulerJob: async () => {
        throw Object.assign(new Error('PERMISSION_DENIED'), { code: 7 });
      },
    });
    const error = await services.refreshSweep(operator, runtime.logger).catch((caught: unknown) => caught);
    expect(isBrokerError(error, 'scheduler_unavailable')).toBe(true);
    expect((error as { retryable: boolean }).retryable).toBe(true);
  });
});

describe('sweep reports for the API', () => {
  it('flattens nested counts to dotted names and drops nothing else', () => {
    expect(flattenReport({ refreshed: 2, failed: { total: 1, byReason: { invalid_grant: 1 } }, stoppedByDeadline: false, eventsPublished: null })).toEqual({
      refreshed: 2,
      'failed.total': 1,
      'failed.byReason.invalid_grant': 1,
      stoppedByDeadline: false,
      eventsPublished: null,
    });
  });
});
