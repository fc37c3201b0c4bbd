// Sits in front of the Functions Framework's own middleware: refuses request bodies before its parsers can read them,
// and answers whatever those middleware raise with problem+json.
//
// The framework parses every request's body before any handler runs, for every method, inflating gzip, deflate and
// brotli, up to 1024 MB: one small compressed body can take an instance's memory. It offers no option or hook ahead of
// its parsers, but it builds its server from an Express application, and Express's `application.handle` is where each
// request enters one. The gate wraps that entry (once per process; the framework's apps share Express's prototype):
// compressed and oversized bodies are refused there, and admitted ones are read there, within the limit.
//
// On a parse failure Express's default final handler answers with an HTML page (with a stack trace outside
// production) and console.error()s the whole error object, raw request body included. Giving every Express app a final
// callback replaces both.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import { BrokerError } from '../errors/broker-error.js';
import type { Logger } from '../log/logger.js';
import { toProblem } from './problem.js';
import { attachBody, hasBody, readBodyWithin, refusalFromHeaders } from './request-body-gate.js';
import { processBodyLimit, processStreamsBodies } from './request-body-limits.js';
import { hideBodyFromFramework } from './streamed-body.js';

interface BodyParserError {
  status?: number;
  type?: string;
}

export function frameworkErrorToBrokerError(error: unknown): BrokerError | undefined {
  if (error instanceof BrokerError) return error;
  if (!error || typeof error !== 'object') return undefined;
  const { status, type } = error as BodyParserError;
  switch (type) {
    case 'entity.parse.failed':
      return new BrokerError('invalid_request', 'The request body is not valid JSON');
    case 'entity.too.large':
      return new BrokerError('payload_too_large', 'The request body is too large');
    case 'encoding.unsupported':
      return new BrokerError('unsupported_content_encoding', 'Send the request body uncompressed (no Content-Encoding)');
    case 'charset.unsupported':
      return new BrokerError('unsupported_media_type', 'The request body charset is not supported');
    case 'request.aborted':
    case 'request.size.invalid':
      return new BrokerError('invalid_request', 'The request body was incomplete');
    default:
      return typeof status === 'number' && status >= 400 && status < 500
        ? new BrokerError('invalid_request', 'The request could not be read')
        : undefined;
  }
}

/**
 * After a refused body, how long the rest of it may keep arriving (and be discarded) before the connection is cut.
 * Cutting at once would leave unread bytes in the socket, and closing such a socket sends a TCP reset, which can
 * destroy the answer before the client reads it; draining forever would let a sender hold the connection.
 */
export const REFUSED_BODY_DRAIN_MS = 5_000;

function cutConnectionIfStillSending(req: IncomingMessage, res: ServerResponse): void {
  res.once('finish', () => {
    if (req.complete || req.destroyed) return;
    const cut = setTimeout(() => req.socket?.destroy(), REFUSED_BODY_DRAIN_MS);
    cut.unref();
    const keep = () => clearTimeout(cut);
    req.once('end', keep);
    req.once('close', keep);
  });
}

type FinalHandler = (error?: unknown) => void;

function problemFinalHandler(res: ServerResponse, logger: () => Logger): FinalHandler {
  return (error?: unknown) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    const known = error === undefined ? new BrokerError('not_found', 'No such route') : frameworkErrorToBrokerError(error);
    if (known) logger().info('request.rejected', known.message, { errorCode: known.code, httpStatus: known.status });
    else logger().error('request.failed', 'framework error', { error });
    const problem = toProblem(known ?? error);
    res.writeHead(problem.status, problem.headers);
    res.end(JSON.stringify(problem.body));
  };
}

/** Refuses what the headers already condemn; reads and attaches what has a body; calls `admitted` for what passes. */
function gateRequestBody(req: IncomingMessage, res: ServerResponse, final: FinalHandler, admitted: () => void): void {
  const limitBytes = processBodyLimit(req.method);
  const refuse = (error: unknown) => {
    cutConnectionIfStillSending(req, res);
    final(error);
  };
  const refusal = refusalFromHeaders(req, limitBytes);
  if (refusal !== undefined) {
    refuse(refusal);
    return;
  }
  if (!hasBody(req)) {
    admitted();
    return;
  }
  if (processStreamsBodies() && limitBytes > 0) {
    // Left unread for the handler, which streams it within the same limit (counting as it goes). A method that takes
    // no body goes on to the read below, which refuses its first byte.
    hideBodyFromFramework(req);
    admitted();
    return;
  }
  readBodyWithin(req, limitBytes).then((raw) => {
    try {
      attachBody(req, raw);
    } catch (error) {
      final(error);
      return;
    }
    admitted();
  }, refuse);
}

let installed = false;

/** Idempotent; httpFunction calls it, so it is in place before the framework builds its server. */
export function installFrameworkGate(logger: () => Logger): void {
  if (installed) return;
  installed = true;
  type Handle = (req: IncomingMessage, res: ServerResponse, callback?: FinalHandler) => void;
  const application = express.application as unknown as { handle: Handle };
  const originalHandle = application.handle;
  application.handle = function handleBehindGate(this: unknown, req, res, callback) {
    const final = callback ?? problemFinalHandler(res, logger);
    gateRequestBody(req, res, final, () => originalHandle.call(this, req, res, final));
  };
}
