// Reads a request's body before anything else can, refusing what would cost memory or time to read: a compressed
// body (415, never inflated), a body over the limit (413, from Content-Length before a byte is read, or as soon as a
// streamed one passes it). What it admits it parses the way the Functions Framework would have, which then finds the
// stream consumed and leaves it alone (its body parser skips a finished request).
import type { IncomingMessage } from 'node:http';
import { BrokerError } from '../errors/broker-error.js';
import { bodyTooLarge } from './request-body-limits.js';

/** What a request looks like to the gate: Node's own message, to which the parsed body is attached. */
export type GatedRequest = IncomingMessage & { body?: unknown; rawBody?: Buffer };

function codings(header: string | string[] | undefined): string[] {
  const joined = Array.isArray(header) ? header.join(',') : (header ?? '');
  return joined
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '');
}

/**
 * A refusal decided from the headers alone, or undefined. Content codings are refused on every request, whether or
 * not it has a body: no function takes compressed input, and body-parser would otherwise inflate it without bound.
 * Transfer codings other than chunked are compression too (Node leaves them to the application).
 */
export function refusalFromHeaders(req: IncomingMessage, limitBytes: number): BrokerError | undefined {
  if (codings(req.headers['content-encoding']).some((coding) => coding !== 'identity')) {
    return new BrokerError('unsupported_content_encoding', 'Send the request body uncompressed (no Content-Encoding)');
  }
  if (codings(req.headers['transfer-encoding']).some((coding) => coding !== 'chunked')) {
    return new BrokerError('unsupported_content_encoding', 'Send the request body uncompressed (Transfer-Encoding: chunked at most)');
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) return bodyTooLarge(limitBytes);
  return undefined;
}

/** Whether the request announces a body (Node has framed one): a non-zero Content-Length, or chunked transfer. */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** Reads the whole body, failing with 413 the moment more than `limitBytes` has arrived (the rest is not kept). */
export function readBodyWithin(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const settle = (error: BrokerError | undefined) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onAborted);
      if (error === undefined) resolve(Buffer.concat(chunks, received));
      else reject(error);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limitBytes) {
        chunks.length = 0;
        settle(bodyTooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle(undefined);
    const onAborted = () => settle(new BrokerError('invalid_request', 'The request body was incomplete'));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('aborted', onAborted);
    req.once('error', onAborted);
  });
}

function mediaType(req: IncomingMessage): { type: string; charset: string | undefined } {
  const [type = '', ...parameters] = (req.headers['content-type'] ?? '').split(';');
  const charset = parameters
    .map((parameter) => parameter.trim().split('='))
    .find(([name]) => name?.trim().toLowerCase() === 'charset')?.[1]
    ?.trim()
    .replace(/^"(.*)"$/, '$1')
    .toLowerCase();
  return { type: type.trim().toLowerCase(), charset };
}

const jsonMediaType = /^application\/(?:[a-z0-9.+-]+\+)?json$/;

/**
 * Attaches an admitted body as the framework would: `rawBody` always; `body` parsed for JSON (an empty JSON body is
 * `{}`, as body-parser makes it), the raw bytes otherwise. No function reads a non-JSON body: they refuse it by type.
 */
export function attachBody(req: GatedRequest, raw: Buffer): void {
  req.rawBody = raw;
  const { type, charset } = mediaType(req);
  if (!jsonMediaType.test(type)) {
    req.body = raw;
    return;
  }
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new BrokerError('unsupported_media_type', 'Send JSON as UTF-8');
  }
  try {
    req.body = raw.length === 0 ? {} : (JSON.parse(raw.toString('utf8')) as unknown);
  } catch {
    throw new BrokerError('invalid_request', 'The request body is not valid JSON');
  }
}
