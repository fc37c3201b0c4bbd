// A typed client for the admin function's JSON API (GET /api/openapi.json is the contract): it sends the
// operator's ID token, turns problem+json answers into BrokerClientErrors (the client's error: the function's problem
// code, or the CLI's own admin_unreachable, timeout, invalid_response or identity_token_failed), and checks every
// answer against the same zod schemas the function validates its responses with.
import type { z } from 'zod';
import {
  connectionDetailSchema,
  connectionListSchema,
  healthCheckResultSchema,
  refreshResultSchema,
  revokeResultSchema,
  rewrapJobSchema,
  statsSchema,
  sweepResultSchema,
} from '../shared/usecases/admin/admin-schemas.js';
import { BrokerClientError } from '../client/broker-client-error.js';
import { readProblem } from '../client/wire.js';
import type { IdTokenSource } from './id-token-source.js';

export type Stats = z.infer<typeof statsSchema>;
export type ConnectionList = z.infer<typeof connectionListSchema>;
export type ConnectionDetail = z.infer<typeof connectionDetailSchema>;
export type RefreshResult = z.infer<typeof refreshResultSchema>;
export type HealthCheckResult = z.infer<typeof healthCheckResultSchema>;
export type SweepResult = z.infer<typeof sweepResultSchema>;
export type RevokeResult = z.infer<typeof revokeResultSchema>;
export type RewrapJob = z.infer<typeof rewrapJobSchema>;

export interface ListFilters {
  readonly tenantId?: string;
  readonly userId?: string;
  readonly provider?: string;
  readonly status?: string;
  readonly health?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface RewrapStep {
  /** Absent: the function resumes the unfinished job if there is one, else starts one. */
  readonly jobId?: string;
  readonly batchSize: number;
  readonly maxBatches: number;
}

export interface AdminClientOptions {
  /** The admin function's URL, e.g. https://admin-xyz.a.run.app or http://127.0.0.1:8080/admin. */
  readonly baseUrl: string;
  readonly idToken: IdTokenSource;
  readonly fetch?: typeof fetch;
  /** Per request; longer than the function's own timeout (300 s), since sweeps and re-wrap runs use it. */
  readonly timeoutMs?: number;
}

export interface CallOptions {
  /** Cancels the request (Ctrl-C). */
  readonly signal?: AbortSignal;
}

export interface AdminClient {
  stats(options?: CallOptions): Promise<Stats>;
  listConnections(filters: ListFilters, options?: CallOptions): Promise<ConnectionList>;
  connection(connectionId: string, options?: CallOptions): Promise<ConnectionDetail>;
  refresh(connectionId: string, options?: CallOptions): Promise<RefreshResult>;
  refreshAllExpiring(options?: CallOptions): Promise<SweepResult>;
  checkHealth(connectionId: string, options?: CallOptions): Promise<HealthCheckResult>;
  checkAllHealth(options?: CallOptions): Promise<SweepResult>;
  revoke(connectionId: string, options?: CallOptions): Promise<RevokeResult>;
  rewrapStep(step: RewrapStep, options?: CallOptions): Promise<RewrapJob>;
  rewrapJob(jobId: string, options?: CallOptions): Promise<RewrapJob>;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 330_000;

function problemError(response: Response, body: unknown): BrokerClientError<string> {
  const { status } = response;
  const problem = readProblem(body, response.headers);
  // Cloud Run's and IAP's own refusals (before the function ran) carry no problem body.
  const platformCode = status === 401 ? 'unauthenticated' : status === 403 ? 'caller_not_allowed' : status === 404 ? 'not_found' : `http_${status}`;
  return new BrokerClientError(problem.code ?? platformCode, problem.message ?? `HTTP ${status}`, {
    status,
    retryable: problem.retryable || status === 429 || status === 503,
    ...(problem.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: problem.retryAfterSeconds }),
    ...(problem.details === undefined ? {} : { details: problem.details }),
  });
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  if (!URL.canParse(options.baseUrl)) throw new TypeError('baseUrl must be an absolute URL');
  const base = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;

  async function call<S extends z.ZodType>(
    schema: S,
    method: 'GET' | 'POST',
    path: string,
    request: { query?: Record<string, string | number | undefined>; body?: unknown; signal?: AbortSignal },
  ): Promise<z.output<S>> {
    const url = new URL(`${base}${path}`);
    for (const [name, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
    const authorization = await options.idToken();
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method,
        headers: {
          accept: 'application/json, application/problem+json',
          // Cloud Run IAM checks X-Serverless-Authorization and passes Authorization through intact for the
          // function's own verification (DESIGN.md, "Caller identity").
          authorization,
          'x-serverless-authorization': authorization,
          ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        },
        ...(method === 'POST' ? { body: JSON.stringify(request.body ?? {}) } : {}),
        signal: request.signal === undefined ? timeout : AbortSignal.any([request.signal, timeout]),
        redirect: 'manual',
      });
    } catch (error) {
      if (request.signal?.aborted) throw error;
      if (timeout.aborted) throw new BrokerClientError('timeout', `The admin function did not answer within ${Math.round(timeoutMs / 1000)} s`, { cause: error });
      throw new BrokerClientError('admin_unreachable', `The admin function at ${base} could not be reached`, { retryable: true, cause: error });
    }
    if (response.status >= 300 && response.status < 400) {
      // IAP and sign-in pages redirect browsers; a CLI sent there lacks credentials the function accepts.
      throw new BrokerClientError('unauthenticated', `The admin function redirected to ${response.headers.get('location') ?? 'elsewhere'}: it wants a browser sign-in, not an ID token`, {
        status: response.status,
      });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch (error) {
      if (response.ok) throw new BrokerClientError('invalid_response', `${method} ${path} answered with something that is not JSON`, { status: response.status, cause: error });
      parsed = undefined;
    }
    if (!response.ok) throw problemError(response, parsed);
    const checked = schema.safeParse(parsed);
    if (!checked.success) {
      throw new BrokerClientError(
        'invalid_response',
        `${method} ${path} answered with a shape this CLI does not know (fields: ${[...new Set(checked.error.issues.map((issue) => issue.path.join('.') || '(body)'))].join(', ')}); ` +
          'use the CLI of the same version as the deployed broker',
        { status: response.status },
      );
    }
    return checked.data;
  }

  const id = (connectionId: string) => `/api/connections/${encodeURIComponent(connectionId)}`;
  return {
    stats: (o = {}) => call(statsSchema, 'GET', '/api/stats', o),
    listConnections: (filters, o = {}) => call(connectionListSchema, 'GET', '/api/connections', { ...o, query: { ...filters } }),
    connection: (connectionId, o = {}) => call(connectionDetailSchema, 'GET', id(connectionId), o),
    refresh: (connectionId, o = {}) => call(refreshResultSchema, 'POST', `${id(connectionId)}/refresh`, o),
    refreshAllExpiring: (o = {}) => call(sweepResultSchema, 'POST', '/api/refresh', o),
    checkHealth: (connectionId, o = {}) => call(healthCheckResultSchema, 'POST', `${id(connectionId)}/health-check`, o),
    checkAllHealth: (o = {}) => call(sweepResultSchema, 'POST', '/api/health-check', o),
    revoke: (connectionId, o = {}) => call(revokeResultSchema, 'POST', `${id(connectionId)}/revoke`, o),
    rewrapStep: (step, o = {}) => call(rewrapJobSchema, 'POST', '/api/rewrap', { ...o, body: { ...step } }),
    rewrapJob: (jobId, o = {}) => call(rewrapJobSchema, 'GET', `/api/rewrap/${encodeURIComponent(jobId)}`, o),
  };
}
