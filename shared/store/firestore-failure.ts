// Turns what the Firestore client throws after its own retries into the broker's error codes, so a caller sees conflict or storage_unavailable instead of internal.
import { BrokerError } from '../errors/broker-error.js';

/** gRPC status codes the Firestore client surfaces: contention that outlasted its retries, and transient unavailability. */
const GRPC_ABORTED = 10;
const GRPC_TRANSIENT: ReadonlySet<number> = new Set([4, 8, 14]); // DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE
/** What a write conditioned on a document's update time gets when the document changed (or went away) since. */
const GRPC_STALE_VERSION: ReadonlySet<number> = new Set([5, 9]); // NOT_FOUND, FAILED_PRECONDITION

/** Whether a write conditioned on a version failed because the document changed or went away since: not a failure to report. */
export function isStaleVersionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && GRPC_STALE_VERSION.has(code);
}

/** A BrokerError for a Firestore failure the caller may retry; anything else (a BrokerError, a bug) is returned unchanged. */
export function firestoreFailure(error: unknown): unknown {
  if (error instanceof BrokerError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === GRPC_ABORTED) {
    return new BrokerError('conflict', 'The record kept changing concurrently; retry', { cause: error });
  }
  if (typeof code === 'number' && GRPC_TRANSIENT.has(code)) {
    return new BrokerError('storage_unavailable', 'Firestore is unavailable; retry later', { cause: error });
  }
  return error;
}
