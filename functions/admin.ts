// admin: operators (through Identity-Aware Proxy, or IAM with an ID token; on ADMIN_ALLOWLIST) see and steer
// every connection without seeing a secret. GET / is the dashboard; GET /api/openapi.json describes the JSON API under /api/.
import * as functions from '@google-cloud/functions-framework';
import { functionConfig } from './config-reads.js';
import { lazy } from '../shared/async/lazy.js';
import { BrokerError } from '../shared/errors/broker-error.js';
import { httpFunction } from '../shared/http/http-function.js';
import { JSON_REQUEST_BODY_LIMIT_BYTES } from '../shared/http/request-body-limits.js';
import { queryParameters } from '../shared/http/query-string.js';
import { adminOpenApiDocument, handleAdminRequest, OPENAPI_PATH } from '../shared/usecases/admin/admin-api.js';
import { type AdminServices, createAdminServices } from '../shared/usecases/admin/admin-services.js';
import { DASHBOARD_CSP, dashboardAsset } from '../shared/usecases/admin/dashboard/dashboard-assets.js';
import { createOperatorAccess, type OperatorAccess } from '../shared/usecases/admin/operator-access.js';
import { type BrokerRuntime, createBrokerRuntime } from '../shared/usecases/broker-runtime.js';

const admin = lazy((): { runtime: BrokerRuntime; access: OperatorAccess; services: AdminServices } => {
  const runtime = createBrokerRuntime(functionConfig('admin'));
  return { runtime, access: createOperatorAccess(runtime), services: createAdminServices(runtime) };
});

functions.http(
  'admin',
  httpFunction({ functionName: 'admin', methods: ['GET', 'POST'], maxBodyBytes: JSON_REQUEST_BODY_LIMIT_BYTES, logger: () => admin().runtime.logger }, async (req, res, { logger }) => {
    const { runtime, access, services } = admin();
    const operator = await access.admit(req, req.path === OPENAPI_PATH ? 'getOpenApi' : req.path);
    const query = Object.fromEntries(queryParameters(req.url));
    const asset = req.method === 'GET' ? dashboardAsset(req.path, query) : undefined;
    if (asset !== undefined) {
      res.setHeader('content-security-policy', DASHBOARD_CSP);
      res.status(200).type(asset.contentType).send(asset.body);
      return;
    }
    if (req.path === OPENAPI_PATH) {
      if (req.method !== 'GET') throw new BrokerError('method_not_allowed', 'Use GET');
      res.status(200).json(adminOpenApiDocument());
      return;
    }
    if (req.method === 'POST') {
      // Cookies (IAP's) ride along on cross-site requests: only same-origin JSON is an operator's action.
      const site = req.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new BrokerError('caller_not_allowed', 'Cross-site requests are refused');
      if (!req.is('application/json')) throw new BrokerError('unsupported_media_type', 'Send the request as application/json');
    }
    const result = await handleAdminRequest(runtime, services, operator, { method: req.method, path: req.path, query, body: req.body }, logger);
    logger.info('admin.action', `admin ${req.method} ${req.path}`, { operatorEmail: operator.email, httpStatus: result.status });
    res.status(result.status).json(result.body);
  }),
);
