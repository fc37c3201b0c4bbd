// How large a request body each function takes: declared by the function (httpFunction's maxBodyBytes), enforced
// before the Functions Framework reads a byte (framework-gate.ts) and again, exactly, by httpFunction.
//
// The limit is code, not deployment data: it follows from the shape of the requests a function's handler accepts (a
// token request is a few hundred bytes of JSON), which no deployment changes, and Cloud Run has no per-service
// request-size setting for Terraform to carry. So it sits in each function's file, not in functions/manifest.json.
import { BrokerError } from '../errors/broker-error.js';

/** What the JSON POST functions take: room for the largest valid request (100 scopes of 512 bytes) and then some. */
export const JSON_REQUEST_BODY_LIMIT_BYTES = 64 * 1024;

// Methods whose requests carry content (RFC 9110 §9.3); any other method's body is refused whatever the function.
const methodsWithContent = new Set(['POST', 'PUT', 'PATCH']);

/** The largest body a function that takes `maxBodyBytes` accepts on this method. */
export function bodyLimitFor(maxBodyBytes: number, method: string | undefined): number {
  return methodsWithContent.has((method ?? '').toUpperCase()) ? maxBodyBytes : 0;
}

/** The refusal of a body over `limitBytes`, wherever it is noticed. */
export function bodyTooLarge(limitBytes: number): BrokerError {
  return new BrokerError('payload_too_large', limitBytes === 0 ? 'This request takes no body' : `The request body must be at most ${limitBytes} bytes`, {
    details: { limitBytes },
  });
}

/**
 * How a function takes its body: `buffered` (read whole, within the limit, before the handler runs) or `streamed`
 * (left unread for the handler to stream onwards, as the proxy does with uploads of many megabytes).
 */
export type BodyHandling = 'buffered' | 'streamed';

// The gate in front of the framework serves every function of the process (one in production, all of them in some
// test harnesses), and runs before it is known which function a request is for: it admits the largest body any of
// them takes, and httpFunction holds each function to its own.
const declaredLimits: { readonly maxBodyBytes: number; readonly handling: BodyHandling }[] = [];

/** Records a function's limit; called when its handler is built, before the framework serves a request. */
export function declareBodyLimit(maxBodyBytes: number, handling: BodyHandling = 'buffered'): void {
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) {
    throw new TypeError(`maxBodyBytes must be a non-negative integer, got ${String(maxBodyBytes)}`);
  }
  declaredLimits.push({ maxBodyBytes, handling });
}

/**
 * Whether this process leaves bodies unread for its handlers: only when every function it serves streams (in
 * production each function is its own process). A test harness that mixes functions reads every body, within the
 * buffered functions' limits, and a streaming function then finds its body already read (`rawBody`).
 */
export function processStreamsBodies(): boolean {
  return declaredLimits.length > 0 && declaredLimits.every((declared) => declared.handling === 'streamed');
}

/** The largest body any function of this process accepts on this method; 0 before any function declared one. */
export function processBodyLimit(method: string | undefined): number {
  const streams = processStreamsBodies();
  const limits = declaredLimits.filter((declared) => streams || declared.handling === 'buffered').map((declared) => declared.maxBodyBytes);
  return bodyLimitFor(Math.max(0, ...limits), method);
}
