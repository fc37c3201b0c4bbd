// Maps Cloud KMS (gRPC) failures to the broker's typed errors, without echoing anything secret.
import { BrokerError } from '../errors/broker-error.js';

// gRPC status codes (google.rpc.Code), numbered as on the wire; @grpc/grpc-js is not loaded for these.
export const grpcStatus = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export type KmsOperation = 'wrap' | 'unwrap' | 'primary_version';

const transient = new Set<number>([
  grpcStatus.CANCELLED,
  grpcStatus.DEADLINE_EXCEEDED,
  grpcStatus.ABORTED,
  grpcStatus.INTERNAL,
  grpcStatus.UNAVAILABLE,
  grpcStatus.UNKNOWN,
]);

const operatorMustAct = new Set<number>([
  grpcStatus.NOT_FOUND,
  grpcStatus.PERMISSION_DENIED,
  grpcStatus.UNAUTHENTICATED,
  grpcStatus.FAILED_PRECONDITION,
  grpcStatus.UNIMPLEMENTED,
]);

/** Cloud KMS's wording when it rejects a request whose CRC32C field does not match its data. */
const REQUEST_CHECKSUM_REJECTED = /The checksum in field \S+ did not match the data in field \S+/;

export function grpcCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** True when KMS refused a request because a checksum we sent did not match what it received. */
export function isRequestChecksumRejection(error: unknown): boolean {
  return (
    grpcCodeOf(error) === grpcStatus.INVALID_ARGUMENT &&
    error instanceof Error &&
    REQUEST_CHECKSUM_REJECTED.test(error.message)
  );
}

/** A response whose integrity fields do not match its data: corrupted in transit, worth one more try. */
export class KmsTransitCorruption extends Error {
  override readonly name = 'KmsTransitCorruption';
}

export function kmsChecksumError(operation: KmsOperation, cause: unknown): BrokerError {
  return new BrokerError('kms_unavailable', 'Cloud KMS data failed its CRC32C integrity check in transit twice', {
    cause,
    details: { operation, reason: 'kms_checksum_mismatch' },
    retryAfterSeconds: 1,
  });
}

/** The typed error for a failed KMS call; `cause` keeps the gRPC error for logs. */
export function kmsFailure(operation: KmsOperation, error: unknown): BrokerError {
  if (error instanceof BrokerError) return error;
  const code = grpcCodeOf(error);
  const details = { operation, grpcCode: code ?? null };
  if (code === grpcStatus.RESOURCE_EXHAUSTED) {
    return new BrokerError('kms_unavailable', 'Cloud KMS quota exhausted; retry later', {
      cause: error,
      details,
      retryAfterSeconds: 10,
    });
  }
  if (code !== undefined && transient.has(code)) {
    return new BrokerError('kms_unavailable', 'Cloud KMS is unavailable; retry later', {
      cause: error,
      details,
      retryAfterSeconds: 2,
    });
  }
  if (code === grpcStatus.INVALID_ARGUMENT && operation === 'unwrap') {
    // KMS cannot tell a tampered wrapped key from a wrong context: both fail its AES-GCM check.
    return new BrokerError('crypto_integrity', 'The wrapped data key does not open in this context', {
      cause: error,
      details,
    });
  }
  if (code !== undefined && operatorMustAct.has(code)) {
    return new BrokerError('misconfigured', 'Cloud KMS refused the key: check the key name, its state and IAM', {
      cause: error,
      details,
    });
  }
  return new BrokerError('internal', 'Cloud KMS call failed unexpectedly', { cause: error, details });
}
