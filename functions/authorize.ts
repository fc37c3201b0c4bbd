// authorize: a product backend starts a connect flow for its user and gets a single-use start URL back.
import * as functions from '@google-cloud/functions-framework';
import { authenticateCaller } from '../shared/auth/authenticate-caller.js';
import { functionConfig } from './config-reads.js';
import { lazy } from '../shared/async/lazy.js';
import { BrokerError } from '../shared/errors/broker-error.js';
import { httpFunction } from '../shared/http/http-function.js';
import { JSON_REQUEST_BODY_LIMIT_BYTES } from '../shared/http/request-body-limits.js';
import { tenantIdOf } from '../shared/quotas/request-quotas.js';
import { type BrokerRuntime, createBrokerRuntime } from '../shared/usecases/broker-runtime.js';
import { startConnectFlow } from '../shared/usecases/connect/start-connect-flow.js';

const broker = lazy((): BrokerRuntime => createBrokerRuntime(functionConfig('authorize')));

functions.http(
  'authorize',
  httpFunction({ functionName: 'authorize', methods: ['POST'], maxBodyBytes: JSON_REQUEST_BODY_LIMIT_BYTES, logger: () => broker().logger }, async (req, res, { logger }) => {
    const caller = await authenticateCaller(req, broker().idTokenVerifier());
    broker().requestQuotas().admit({ functionName: 'authorize', callerEmail: caller.email, tenantId: tenantIdOf(req.body) });
    if (!req.is('application/json')) throw new BrokerError('unsupported_media_type', 'Send the connect request as application/json');
    const started = await startConnectFlow(broker(), caller.email, req.body);
    logger.info('authorize.flow_started', 'connect flow started', { callerEmail: caller.email });
    res.status(200).json(started);
  }),
);
