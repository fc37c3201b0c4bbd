import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../shared/errors/broker-error.js';
import { errorCodes, errorCodeTable } from '../../../shared/errors/error-codes.js';
import { toProblem } from '../../../shared/http/problem.js';

describe('toProblem', () => {
  it('renders a broker error as RFC 9457 problem+json with its stable code', () => {
    const problem = toProblem(
      new BrokerError('insufficient_scope', 'Missing a scope', { details: { missingScopes: ['chat:write'] } }),
    );
    expect(problem.status).toBe(403);
    expect(problem.headers['content-type']).toBe('application/problem+json');
    expect(problem.headers['cache-control']).toBe('no-store');
    expect(problem.body).toEqual({
      type: 'urn:oauth-broker:problem:insufficient_scope',
      title: errorCodeTable.insufficient_scope.title,
      status: 403,
      code: 'insufficient_scope',
      detail: 'Missing a scope',
      details: { missingScopes: ['chat:write'] },
    });
  });

  it('marks retryable failures and sends Retry-After', () => {
    const problem = toProblem(new BrokerError('provider_unavailable', 'Slack is down', { retryAfterSeconds: 7.2 }));
    expect(problem.status).toBe(503);
    expect(problem.headers['retry-after']).toBe('8');
    expect(problem.body.retryable).toBe(true);
  });

  it('answers unknown errors with a bare 500 that says nothing about them', () => {
    const problem = toProblem(new Error('connect ECONNREFUSED 10.1.2.3:5432 secret=abc'));
    expect(problem.status).toBe(500);
    expect(JSON.stringify(problem.body)).not.toMatch(/ECONNREFUSED|secret|10\.1\.2\.3/);
    expect(problem.body.code).toBe('internal');
  });

  it('keeps the detail of our own faults out of responses', () => {
    const problem = toProblem(
      new BrokerError('misconfigured', 'KMS_KEY_NAME is missing', { details: { variables: ['KMS_KEY_NAME'] } }),
    );
    expect(problem.status).toBe(500);
    expect(JSON.stringify(problem.body)).not.toContain('KMS_KEY_NAME');
  });

  it('maps every code to a status in the 4xx or 5xx range', () => {
    for (const code of errorCodes) {
      const { status } = toProblem(new BrokerError(code, 'x'));
      expect(status >= 400 && status < 600, code).toBe(true);
    }
  });
});
