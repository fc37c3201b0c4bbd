// The admin JSON API: one table of operations (schemas, summary, handler) that both routes requests and
// generates the OpenAPI document. Every request is validated by its schemas, every response by its (strict)
// schema before it is sent, and every operation is audited with the operator who asked.
import type { z } from 'zod';
import type { Operator } from '../../auth/admin-operator.js';
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import { type ApiMethod, type ApiOperationDescription, openApiDocument } from '../../http/openapi.js';
import type { Logger } from '../../log/logger.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import {
  connectionDetailSchema,
  connectionListSchema,
  connectionPathSchema,
  emptyBodySchema,
  healthCheckResultSchema,
  listConnectionsQuerySchema,
  noParametersSchema,
  refreshResultSchema,
  revokeResultSchema,
  rewrapJobPathSchema,
  rewrapJobSchema,
  rewrapRequestSchema,
  statsHistoryQuerySchema,
  statsHistorySchema,
  statsSchema,
  sweepResultSchema,
} from './admin-schemas.js';
import type { AdminServices } from './admin-services.js';
import { refreshAsOperator, revokeAsOperator } from './connection-actions.js';
import { connectionDetail, listAllConnections } from './connection-queries.js';
import { connectionStats } from './connection-stats.js';
import { recordOperatorAction } from './operator-audit.js';
import { readSweepHistory } from './sweep-history.js';

// Re-wrapping is a rare operator job: its module loads when a re-wrap request comes, not on every admin cold start.
const loadRewrapJob = () => import('./rewrap-job.js');

export interface AdminRequest {
  readonly method: string;
  /** The path within the admin function, e.g. `/api/stats`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The parsed JSON body; undefined for requests without one. */
  readonly body: unknown;
}

interface HandlerInput<P extends z.ZodObject, Q extends z.ZodObject, B extends z.ZodType> {
  readonly runtime: BrokerRuntime;
  readonly services: AdminServices;
  readonly operator: Operator;
  readonly logger: Logger;
  readonly params: z.output<P>;
  readonly query: z.output<Q>;
  readonly body: z.output<B>;
}

interface AdminOperation<P extends z.ZodObject, Q extends z.ZodObject, B extends z.ZodType, R extends z.ZodType>
  extends ApiOperationDescription {
  readonly params: P;
  readonly query: Q;
  readonly body?: B;
  readonly response: R;
  handle(input: HandlerInput<P, Q, B>): Promise<z.input<R>>;
}

function operation<P extends z.ZodObject, Q extends z.ZodObject, B extends z.ZodType, R extends z.ZodType>(
  definition: AdminOperation<P, Q, B, R>,
): AdminOperation<z.ZodObject, z.ZodObject, z.ZodType, z.ZodType> {
  return definition as unknown as AdminOperation<z.ZodObject, z.ZodObject, z.ZodType, z.ZodType>;
}

export const adminOperations = [
  operation({
    method: 'get',
    path: '/api/stats',
    operationId: 'getStats',
    summary: 'Connections by provider and status, and the health of the live ones',
    params: noParametersSchema,
    query: noParametersSchema,
    response: statsSchema,
    handle: ({ runtime }) => connectionStats(runtime),
  }),
  operation({
    method: 'get',
    path: '/api/stats/history',
    operationId: 'getStatsHistory',
    summary: 'One snapshot per refresh and health sweep run of the last hours, oldest first: its outcome counts and the connections by status',
    params: noParametersSchema,
    query: statsHistoryQuerySchema,
    response: statsHistorySchema,
    handle: ({ runtime, query }) => readSweepHistory(runtime, query),
  }),
  operation({
    method: 'get',
    path: '/api/connections',
    operationId: 'listConnections',
    summary: 'Every connection, newest first, filtered and paginated by an opaque cursor',
    params: noParametersSchema,
    query: listConnectionsQuerySchema,
    response: connectionListSchema,
    handle: ({ runtime, query }) => listAllConnections(runtime, query),
  }),
  operation({
    method: 'get',
    path: '/api/connections/{connectionId}',
    operationId: 'getConnection',
    summary: "One connection's state and its audit history (newest first); never its credentials",
    params: connectionPathSchema,
    query: noParametersSchema,
    response: connectionDetailSchema,
    handle: ({ runtime, params }) => connectionDetail(runtime, params.connectionId),
  }),
  operation({
    method: 'post',
    path: '/api/connections/{connectionId}/health-check',
    operationId: 'checkConnectionHealth',
    summary: "Calls the provider's identity endpoint for this connection and records its health",
    params: connectionPathSchema,
    query: noParametersSchema,
    body: emptyBodySchema,
    response: healthCheckResultSchema,
    handle: ({ services, operator, params }) => services.checkHealth(operator, params.connectionId),
  }),
  operation({
    method: 'post',
    path: '/api/health-check',
    operationId: 'checkAllHealth',
    summary: 'Runs the health sweep over every active connection now',
    params: noParametersSchema,
    query: noParametersSchema,
    body: emptyBodySchema,
    response: sweepResultSchema,
    handle: ({ services, operator, logger }) => services.healthSweep(operator, logger),
  }),
  operation({
    method: 'post',
    path: '/api/connections/{connectionId}/refresh',
    operationId: 'refreshConnection',
    summary: 'Refreshes this connection now, under the same lease as every other refresh',
    params: connectionPathSchema,
    query: noParametersSchema,
    body: emptyBodySchema,
    response: refreshResultSchema,
    handle: ({ runtime, services, operator, params }) => refreshAsOperator(runtime, services.refreshEngine(), operator, params.connectionId),
  }),
  operation({
    method: 'post',
    path: '/api/refresh',
    operationId: 'refreshAllDue',
    summary: 'Refreshes every connection about to expire: the refresh sweep, here or as its Cloud Scheduler job',
    params: noParametersSchema,
    query: noParametersSchema,
    body: emptyBodySchema,
    response: sweepResultSchema,
    handle: ({ services, operator, logger }) => services.refreshSweep(operator, logger),
  }),
  operation({
    method: 'post',
    path: '/api/connections/{connectionId}/revoke',
    operationId: 'revokeConnection',
    summary: 'Revokes the grant at the provider, destroys the sealed credentials and announces the change',
    params: connectionPathSchema,
    query: noParametersSchema,
    body: emptyBodySchema,
    response: revokeResultSchema,
    handle: ({ runtime, operator, params }) => revokeAsOperator(runtime, operator, params.connectionId),
  }),
  operation({
    method: 'post',
    path: '/api/rewrap',
    operationId: 'runRewrap',
    summary: 'Starts or resumes re-wrapping every data key under the KMS key\'s primary version; call again until completed',
    params: noParametersSchema,
    query: noParametersSchema,
    body: rewrapRequestSchema,
    response: rewrapJobSchema,
    handle: async ({ runtime, services, operator, body }) =>
      (await loadRewrapJob()).runRewrapJob(runtime, operator, body, { deadlineMs: runtime.clock.nowMs() + services.rewrapBudgetMs, openVault: services.openVault }),
  }),
  operation({
    method: 'get',
    path: '/api/rewrap/{jobId}',
    operationId: 'getRewrapJob',
    summary: "A re-wrap job's progress",
    params: rewrapJobPathSchema,
    query: noParametersSchema,
    response: rewrapJobSchema,
    handle: async ({ runtime, params }) => (await loadRewrapJob()).readRewrapJob(runtime, params.jobId),
  }),
];

export const OPENAPI_PATH = '/api/openapi.json';

export function adminOpenApiDocument(): Record<string, unknown> {
  return openApiDocument(
    {
      title: 'oauth-broker admin API',
      version: '1',
      description:
        'Operator API of the OAuth broker. Authenticate through Identity-Aware Proxy (X-Goog-IAP-JWT-Assertion) or with a ' +
        'Google ID token (Authorization: Bearer); the identity must be on ADMIN_ALLOWLIST. Responses never contain a token.',
    },
    adminOperations,
    {
      schemes: {
        iap: { type: 'apiKey', in: 'header', name: 'X-Goog-IAP-JWT-Assertion', description: 'Set by Identity-Aware Proxy' },
        idToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Google ID token' },
      },
      anyOf: ['iap', 'idToken'],
    },
  );
}

interface RouteMatch {
  readonly operation: (typeof adminOperations)[number];
  readonly params: Record<string, string>;
}

const compiled = adminOperations.map((op) => {
  const names: string[] = [];
  const pattern = op.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { op, names, regex: new RegExp(`^${pattern}$`) };
});

/** The operation for a method and path; `method_not_allowed` when the path exists with other methods. */
export function matchAdminRoute(method: string, path: string): RouteMatch {
  const onPath = compiled
    .map((route) => ({ route, match: route.regex.exec(path) }))
    .filter((candidate): candidate is { route: (typeof compiled)[number]; match: RegExpExecArray } => candidate.match !== null);
  if (onPath.length === 0) throw new BrokerError('not_found', 'No such route');
  const found = onPath.find(({ route }) => route.op.method === (method.toLowerCase() as ApiMethod));
  if (found === undefined) throw new BrokerError('method_not_allowed', `Use ${onPath.map(({ route }) => route.op.method.toUpperCase()).join(' or ')}`);
  const params = Object.fromEntries(found.route.names.map((name, index) => [name, decodeURIComponent(found.match[index + 1] ?? '')]));
  return { operation: found.route.op, params };
}

function validate<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new BrokerError('invalid_request', `The request's ${where} is invalid`, {
      details: { fields: [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || `(${where})`))] },
    });
  }
  return parsed.data;
}

/** Runs one API request for an authenticated, allowlisted operator; returns the status and the checked body. */
export async function handleAdminRequest(
  runtime: BrokerRuntime,
  services: AdminServices,
  operator: Operator,
  request: AdminRequest,
  logger: Logger,
): Promise<{ status: number; body: unknown }> {
  const { operation: op, params: rawParams } = matchAdminRoute(request.method, request.path);
  const connectionId = typeof rawParams.connectionId === 'string' ? rawParams.connectionId : undefined;
  // Every operation is audited, reads included; the OpenAPI document is no operation (functions/admin.ts serves it).
  const audit = (outcome: 'success' | 'failure', detail?: string) =>
    recordOperatorAction(runtime, operator, { operation: op.operationId, outcome, connectionId, detail });
  let checked: unknown;
  try {
    const params = validate(op.params, rawParams, 'path');
    const query = validate(op.query, request.query, 'query');
    const body = op.body === undefined ? undefined : validate(op.body, request.body ?? {}, 'body');
    const result = await op.handle({ runtime, services, operator, logger, params, query, body });
    // Strict response schemas: a field nobody declared (a secret, say) fails here instead of reaching the client.
    const parsed = op.response.safeParse(result);
    if (!parsed.success) {
      throw new BrokerError('internal', 'An admin response did not match its schema', {
        cause: new Error(`${op.operationId}: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`),
      });
    }
    checked = parsed.data;
  } catch (error) {
    await audit('failure', isBrokerError(error) ? error.code : 'internal').catch((auditError: unknown) =>
      logger.error('admin.audit_failed', 'An admin action could not be audited', { error: auditError }),
    );
    throw error;
  }
  // An action that cannot be audited is reported as failed (storage_unavailable), though it happened.
  await audit('success', detailOf(checked));
  return { status: op.status ?? 200, body: checked };
}

/** A short, stable word on how an action ended, for its audit entry. */
function detailOf(result: unknown): string | undefined {
  if (result === null || typeof result !== 'object') return undefined;
  const record = result as Record<string, unknown>;
  if (typeof record.outcome === 'string') return record.outcome;
  if (typeof record.jobId === 'string' && typeof record.status === 'string') return `${record.jobId}:${record.status}`;
  const revocation = record.providerRevocation as { outcome?: unknown } | undefined;
  if (typeof revocation?.outcome === 'string') return `provider_${revocation.outcome}`;
  return undefined;
}
