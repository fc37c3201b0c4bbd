// Trello's documented error replies, fed to the real identity processing: dead tokens need the user, limits are retried.
import { describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import { processIdentityReply } from '../../../shared/oauth/identity.js';
import { createOAuthRuntime } from '../../../shared/oauth/oauth-runtime.js';
import { trello } from '../../../shared/providers/definitions/trello.js';

const runtime = createOAuthRuntime();
const textReply = (status: number, body: string) => ({ status, headers: new Headers({ 'content-type': 'text/plain; charset=utf-8' }), body });
const failureOf = (reply: { status: number; headers: Headers; body: string }) => {
  try {
    processIdentityReply(runtime, trello, reply);
  } catch (error) {
    return error;
  }
  throw new Error('the reply was accepted');
};

describe('trello identity replies', () => {
  it.each(['invalid token', 'expired token'])('turns 401 "%s" (plain text) into needs_reauth', (body) => {
    const error = failureOf(textReply(401, body));
    expect(isBrokerError(error, 'needs_reauth')).toBe(true);
  });

  it.each(['API_TOKEN_LIMIT_EXCEEDED', 'API_KEY_LIMIT_EXCEEDED'])('treats a 429 %s without Retry-After as a retry later, not a dead grant', (code) => {
    const error = failureOf({ status: 429, headers: new Headers({ 'content-type': 'application/json' }), body: JSON.stringify({ error: code, message: 'Rate limit exceeded' }) });
    expect(isBrokerError(error, 'provider_unavailable')).toBe(true);
    expect((error as { retryAfterSeconds?: number }).retryAfterSeconds).toBeUndefined();
  });

  it('accepts the member reply of a live token', () => {
    const body = processIdentityReply(runtime, trello, { status: 200, headers: new Headers({ 'content-type': 'application/json' }), body: '{"id":"5f1","username":"bob"}' });
    expect(body).toEqual({ id: '5f1', username: 'bob' });
  });
});
