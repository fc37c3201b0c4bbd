// Turns any thrown value into an RFC 9457 problem+json response; unknown errors become a bare 500.
import type { ProblemBody } from '../../client/wire.js';
import { BrokerError } from '../errors/broker-error.js';
import { errorCodeTable } from '../errors/error-codes.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ProblemBody;
}

/** Stable problem type URIs: a caller can switch on `code` or on `type`. */
export function problemType(code: string): string {
  return `urn:oauth-broker:problem:${code}`;
}

export function toProblem(error: unknown): ProblemResponse {
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' };
  if (!(error instanceof BrokerError) || error.code === 'internal') {
    // Unknown failures say nothing about themselves to the client; the caller's logger keeps the detail.
    const info = errorCodeTable.internal;
    return {
      status: info.status,
      headers,
      body: { type: problemType('internal'), title: info.title, status: info.status, code: 'internal' },
    };
  }
  const info = errorCodeTable[error.code];
  // Our own faults (misconfiguration, integrity) are for operators' logs, not for callers.
  const showDetail = info.status < 500 || info.retryable;
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.ceil(error.retryAfterSeconds));
  return {
    status: info.status,
    headers,
    body: {
      type: problemType(error.code),
      title: info.title,
      status: info.status,
      code: error.code,
      ...(showDetail ? { detail: error.message } : {}),
      ...(info.retryable ? { retryable: true } : {}),
      ...(showDetail && error.details ? { details: error.details } : {}),
    },
  };
}
