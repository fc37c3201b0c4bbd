// Test check that a refused token left no trace in the error, its causes, or the log line written for it.
import { inspect } from 'node:util';
import { expect } from 'vitest';
import { CallerRejection, type CallerRejectionReason } from '../../../shared/auth/caller-rejection.js';
import { BrokerError } from '../../../shared/errors/broker-error.js';
import { createLogger } from '../../../shared/log/logger.js';

/** The parts of a token that must never be echoed: the whole, and each segment long enough to identify it. */
function tokenFragments(token: string): string[] {
  return [token, ...token.split('.').filter((segment) => segment.length >= 16)];
}

export function expectNoTokenIn(text: string, token: string): void {
  for (const fragment of tokenFragments(token)) expect(text).not.toContain(fragment);
}

/** Asserts `error` is the stable `unauthenticated` refusal for `reason`, and that nothing in it or its log line holds the token. */
export function expectRefusedWithoutLeak(error: unknown, reason: CallerRejectionReason, token: string): void {
  expect(error).toBeInstanceOf(BrokerError);
  const refusal = error as BrokerError;
  expect(refusal.code).toBe('unauthenticated');
  expect(refusal.status).toBe(401);
  expect(refusal.cause).toBeInstanceOf(CallerRejection);
  expect((refusal.cause as CallerRejection).code).toBe(reason);
  expect(refusal.details).toBeUndefined();

  const lines: string[] = [];
  createLogger({ sink: (line) => lines.push(line) }).warn('caller.rejected', refusal.message, { error: refusal });
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(reason);
  for (const text of [refusal.message, inspect(refusal, { depth: 10, showHidden: true }), JSON.stringify(refusal), lines[0] ?? '']) {
    expectNoTokenIn(text, token);
  }
}

/** Runs `action` and returns what it threw; fails the test if it did not throw. */
export async function caught(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to throw');
}
