// A failure the KMS stand-in answers with a gRPC status, worded like the real service where its wording is known.
import type { status } from '@grpc/grpc-js';

export class KmsStatusError extends Error {
  override readonly name = 'KmsStatusError';

  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}
