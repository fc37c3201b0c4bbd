// Routes errors raised inside the Functions Framework's own middleware (body parsing) to problem+json.
//
// The framework parses bodies before our handler runs, and on a parse failure Express's default final
// handler answers with an HTML page (with a stack trace outside production) and console.error()s the
// whole error object, raw request body included. Giving every Express app a final callback replaces both.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import { BrokerError } from '../errors/broker-error.js';
import type { Logger } from '../log/logger.js';
import { toProblem } from './problem.js';

interface BodyParserError {
  status?: number;
  type?: string;
}

export function frameworkErrorToBrokerError(error: unknown): BrokerError | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const { status, type } = error as BodyParserError;
  switch (type) {
    case 'entity.parse.failed':
      return new BrokerError('invalid_request', 'The request body is not valid JSON');
    case 'entity.too.large':
      return new BrokerError('payload_too_large', 'The request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new BrokerError('unsupported_media_type', 'The request body encoding is not supported');
    case 'request.aborted':
    case 'request.size.invalid':
      return new BrokerError('invalid_request', 'The request body was incomplete');
    default:
      return typeof status === 'number' && status >= 400 && status < 500
        ? new BrokerError('invalid_request', 'The request could not be read')
        : undefined;
  }
}

let installed = false;

/** Idempotent; call once per process before the framework builds its server. */
export function installFrameworkErrorHandler(logger: () => Logger): void {
  if (installed) return;
  installed = true;
  type Handle = (req: IncomingMessage, res: ServerResponse, callback?: (error?: unknown) => void) => void;
  const application = express.application as unknown as { handle: Handle };
  const originalHandle = application.handle;
  application.handle = function handleWithProblemFinal(this: unknown, req, res, callback) {
    const final =
      callback ??
      ((error?: unknown) => {
        if (res.headersSent) {
          res.end();
          return;
        }
        const known = error === undefined ? new BrokerError('not_found', 'No such route') : frameworkErrorToBrokerError(error);
        if (known) logger().info('request.rejected', known.message, { errorCode: known.code });
        else logger().error('request.failed', 'framework error', { error });
        const problem = toProblem(known ?? error);
        res.writeHead(problem.status, problem.headers);
        res.end(JSON.stringify(problem.body));
      });
    return originalHandle.call(this, req, res, final);
  };
}
