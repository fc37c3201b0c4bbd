// Wraps a function's request handler: body limit and method checks, security headers, trace-correlated logging,
// errors → problem+json.
import type { Request, Response } from '@google-cloud/functions-framework';
import { BrokerError } from '../errors/broker-error.js';
import type { Logger } from '../log/logger.js';
import { traceFromHeaders } from '../log/trace.js';
import { installFrameworkGate } from './framework-gate.js';
import { replaceFrameworkRequestTracking } from './framework-request-tracking.js';
import { toProblem } from './problem.js';
import { type BodyHandling, bodyLimitFor, bodyTooLarge, declareBodyLimit } from './request-body-limits.js';
import { restoreHiddenBody } from './streamed-body.js';

export interface RequestContext {
  /** A logger carrying this request's trace and the function's labels. */
  readonly logger: Logger;
}

export type RequestHandler = (req: Request, res: Response, context: RequestContext) => Promise<void>;

export interface HttpFunctionOptions {
  readonly functionName: string;
  readonly methods: readonly string[];
  /**
   * The largest request body the function takes on POST (other methods take none): JSON_REQUEST_BODY_LIMIT_BYTES for
   * the JSON functions, 0 for one that reads no body. Larger bodies are refused (413) before anything reads them.
   */
  readonly maxBodyBytes: number;
  /** `streamed`: the handler reads the body itself (requestBodySource), within maxBodyBytes; `buffered` by default. */
  readonly body?: BodyHandling;
  /** Created lazily by the caller's wiring; receives labels and trace per request. */
  readonly logger: () => Logger;
}

/** Headers every response carries: nothing here is cacheable or meant to be sniffed or framed. */
export function applySecurityHeaders(res: Response): void {
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-frame-options', 'DENY');
}

export function sendProblem(res: Response, error: unknown, logger: Logger): void {
  const problem = toProblem(error);
  if (error instanceof BrokerError && problem.status < 500) {
    logger.info('request.rejected', error.message, { errorCode: error.code, httpStatus: problem.status });
  } else if (error instanceof BrokerError && error.retryable) {
    logger.warn('request.unavailable', error.message, { errorCode: error.code, httpStatus: problem.status, error });
  } else {
    logger.error('request.failed', 'request failed', { httpStatus: problem.status, error });
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(problem.status);
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.send(JSON.stringify(problem.body));
}

/**
 * A JSON answer written in one piece: the body as a string with its length, so Node sends headers and body in a
 * single write, and without Express's `send`, which hashes every body for an ETag that no-store makes useless.
 */
export function sendJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function httpFunction(options: HttpFunctionOptions, handle: RequestHandler) {
  if (options.methods.length === 0) throw new TypeError('httpFunction needs at least one allowed method');
  declareBodyLimit(options.maxBodyBytes, options.body ?? 'buffered');
  installFrameworkGate(options.logger);
  replaceFrameworkRequestTracking();
  const allowed = new Set(options.methods.map((method) => method.toUpperCase()));
  return async (req: Request, res: Response): Promise<void> => {
    const trace = traceFromHeaders(req.headers);
    const logger = options.logger().child({ labels: { function: options.functionName }, ...(trace ? { trace } : {}) });
    applySecurityHeaders(res);
    if (options.body === 'streamed') restoreHiddenBody(req);
    try {
      // The gate in front of the framework admitted up to the largest limit of this process's functions; in a process
      // serving several (test harnesses), this one's own limit still holds.
      const limitBytes = bodyLimitFor(options.maxBodyBytes, req.method);
      if ((req.rawBody?.length ?? 0) > limitBytes) throw bodyTooLarge(limitBytes);
      if (!allowed.has(req.method.toUpperCase())) {
        res.setHeader('allow', [...allowed].join(', '));
        throw new BrokerError('method_not_allowed', `Use ${[...allowed].join(' or ')}`);
      }
      await handle(req, res, { logger });
    } catch (error) {
      sendProblem(res, error, logger);
    }
  };
}
