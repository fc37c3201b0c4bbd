// refresh: Cloud Scheduler's sweep that refreshes every connection due within the window, within the function's time budget.
import * as functions from '@google-cloud/functions-framework';
import { functionConfig } from './config-reads.js';
import { lazy } from '../shared/async/lazy.js';
import { httpFunction } from '../shared/http/http-function.js';
import { JSON_REQUEST_BODY_LIMIT_BYTES } from '../shared/http/request-body-limits.js';
import { type BrokerRuntime, createBrokerRuntime } from '../shared/usecases/broker-runtime.js';
import { runRefreshSweep } from '../shared/usecases/sweeps/refresh-sweep.js';
import { authenticateSchedulerCaller } from '../shared/usecases/sweeps/sweep-caller.js';

const broker = lazy((): BrokerRuntime => createBrokerRuntime(functionConfig('refresh')));

functions.http(
  'refresh',
  httpFunction({ functionName: 'refresh', methods: ['POST'], maxBodyBytes: JSON_REQUEST_BODY_LIMIT_BYTES, logger: () => broker().logger }, async (req, res, { logger }) => {
    const caller = await authenticateSchedulerCaller(broker(), req);
    // The scheduler's body ({}) carries nothing: how the sweep runs is configuration, not request input.
    const report = await runRefreshSweep(broker(), { actor: { type: 'scheduler', id: caller.email }, logger });
    res.status(200).json(report);
  }),
);
