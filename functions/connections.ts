// connections: a product backend lists and disconnects its users' connections, creates app-only and API-key ones, and
// confirms its user where a connect flow waits for that.
//   GET  /?tenantId=&userId=[&provider=]   list (no userId: the tenant-level connections)
//   POST /disconnect          {tenantId, connectionId}
//   POST /client-credentials  {tenantId, provider, scopes?, connectionConfig?}
//   POST /api-key             {tenantId, userId?, provider, apiKey, connectionConfig?}
//   POST /confirm             {tenantId, flowId, userId}   the signed-in user a pending_confirmation flow came back to
import * as functions from '@google-cloud/functions-framework';
import { authenticateCaller } from '../shared/auth/authenticate-caller.js';
import { functionConfig } from './config-reads.js';
import { lazy } from '../shared/async/lazy.js';
import { BrokerError } from '../shared/errors/broker-error.js';
import { httpFunction } from '../shared/http/http-function.js';
import { JSON_REQUEST_BODY_LIMIT_BYTES } from '../shared/http/request-body-limits.js';
import { queryParameters } from '../shared/http/query-string.js';
import { tenantIdOf } from '../shared/quotas/request-quotas.js';
import { type BrokerRuntime, createBrokerRuntime } from '../shared/usecases/broker-runtime.js';
import { confirmConnect } from '../shared/usecases/connections/confirm-connect.js';
import { createApiKeyConnection, createClientCredentialsConnection } from '../shared/usecases/connections/create-app-connection.js';
import { disconnectConnection } from '../shared/usecases/connections/disconnect-connection.js';
import { listConnections } from '../shared/usecases/connections/list-connections.js';
import { drainAfterChange } from '../shared/usecases/events/drain-after-change.js';

const broker = lazy((): BrokerRuntime => createBrokerRuntime(functionConfig('connections')));

const postRoutes = {
  '/disconnect': disconnectConnection,
  '/client-credentials': createClientCredentialsConnection,
  '/api-key': createApiKeyConnection,
  '/confirm': confirmConnect,
} as const;

functions.http(
  'connections',
  httpFunction({ functionName: 'connections', methods: ['GET', 'POST'], maxBodyBytes: JSON_REQUEST_BODY_LIMIT_BYTES, logger: () => broker().logger }, async (req, res, { logger }) => {
    const caller = await authenticateCaller(req, broker().idTokenVerifier());
    const query = Object.fromEntries(queryParameters(req.url));
    broker().requestQuotas().admit({ functionName: 'connections', callerEmail: caller.email, tenantId: tenantIdOf(req.method === 'GET' ? query : req.body) });
    if (req.method === 'GET') {
      if (req.path !== '/') throw new BrokerError('not_found', 'No such route');
      res.status(200).json({ connections: await listConnections(broker(), caller.email, query) });
      return;
    }
    const route = postRoutes[req.path as keyof typeof postRoutes] as (typeof postRoutes)[keyof typeof postRoutes] | undefined;
    if (route === undefined) throw new BrokerError('not_found', 'No such route');
    if (!req.is('application/json')) throw new BrokerError('unsupported_media_type', 'Send the request as application/json');
    const result = await route(broker(), caller.email, req.body);
    // Every POST changes a connection's status (created, revoked): its event goes out before the answer.
    await drainAfterChange(broker(), { logger });
    logger.info('connections.changed', `connections ${req.path.slice(1)}`, { callerEmail: caller.email, connectionId: result.connectionId });
    res.status(200).json(result);
  }),
);
