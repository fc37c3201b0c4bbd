// Firestore failures that outlast the client's retries reach callers as retryable broker errors, never as internal.
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../shared/errors/broker-error.js';
import { toProblem } from '../../../shared/http/problem.js';
import { firestoreFailure, isStaleVersionFailure } from '../../../shared/store/firestore-failure.js';

const grpcError = (code: number) => Object.assign(new Error(`${code} status`), { code });

describe('firestoreFailure', () => {
  it('turns ABORTED (contention after the client retried) into a retryable conflict (409)', () => {
    const mapped = firestoreFailure(grpcError(10));
    expect(mapped).toBeInstanceOf(BrokerError);
    expect(toProblem(mapped)).toMatchObject({ status: 409, body: { code: 'conflict', retryable: true } });
  });

  it.each([4, 8, 14])('turns gRPC %i into storage_unavailable (503, retryable)', (code) => {
    expect(toProblem(firestoreFailure(grpcError(code)))).toMatchObject({ status: 503, body: { code: 'storage_unavailable', retryable: true } });
  });

  it('leaves broker errors and everything else (bugs stay internal) as they are', () => {
    const brokerError = new BrokerError('flow_not_found', 'unknown');
    expect(firestoreFailure(brokerError)).toBe(brokerError);
    const bug = new TypeError('x is undefined');
    expect(firestoreFailure(bug)).toBe(bug);
    expect(firestoreFailure(grpcError(3))).toMatchObject({ code: 3 });
  });
});

describe('isStaleVersionFailure', () => {
  it('is true for what a write conditioned on an update time gets when the document changed (9) or went away (5)', () => {
    expect(isStaleVersionFailure(grpcError(9))).toBe(true);
    expect(isStaleVersionFailure(grpcError(5))).toBe(true);
  });

  it('is false for contention, unavailability, broker errors and bugs: those are failures, not a newer version', () => {
    for (const code of [10, 4, 8, 14, 3]) expect(isStaleVersionFailure(grpcError(code))).toBe(false);
    expect(isStaleVersionFailure(new BrokerError('conflict', 'x'))).toBe(false);
    expect(isStaleVersionFailure(new TypeError('x'))).toBe(false);
    expect(isStaleVersionFailure(null)).toBe(false);
  });
});
