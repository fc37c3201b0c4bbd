import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../shared/errors/broker-error.js';
import { createLogger, type Logger } from '../../../shared/log/logger.js';
import { loggableFields } from '../../../shared/log/loggable-fields.js';
import { traceFromHeaders } from '../../../shared/log/trace.js';
import { credentialSamples } from '../../support/credential-samples.js';

function capture(options: Parameters<typeof createLogger>[0] = {}) {
  const lines: string[] = [];
  const logger = createLogger({ ...options, sink: (line) => lines.push(line) });
  return { logger, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const secrets = credentialSamples();

const allSecretValues = Object.values(secrets);

function assertNoSecret(output: string): void {
  for (const secret of allSecretValues) expect(output).not.toContain(secret);
  // Also no long fragment of any secret survived (e.g. a half-masked value).
  for (const secret of allSecretValues) expect(output).not.toContain(secret.slice(-16));
}

describe('logger', () => {
  it('writes one JSON line with severity, event, message and allowlisted fields', () => {
    const { logger, entries } = capture({ labels: { function: 'token' } });
    logger.info('token.read', 'token served', { tenantId: 'acme', provider: 'slack', latencyMs: 12 });
    const [entry] = entries();
    expect(entry).toMatchObject({
      severity: 'INFO',
      event: 'token.read',
      message: 'token served',
      tenantId: 'acme',
      provider: 'slack',
      latencyMs: 12,
      'logging.googleapis.com/labels': { function: 'token' },
    });
  });

  it('drops fields that are not on the allowlist, naming them but never printing their values', () => {
    const { logger, lines, entries } = capture();
    const fields = { tenantId: 't1', accessToken: secrets.googleAccess, refresh_token: secrets.googleRefresh };
    logger.info('x.y', 'm', fields as never);
    expect(entries()[0]).toMatchObject({ tenantId: 't1', droppedFields: ['accessToken', 'refresh_token'] });
    assertNoSecret(lines.join('\n'));
  });

  it('never prints a token-shaped value through any entry point or field', () => {
    const { logger, lines } = capture({ minSeverity: 'DEBUG' });
    const methods: (keyof Omit<Logger, 'child'>)[] = ['debug', 'info', 'notice', 'warn', 'error'];
    for (const method of methods) {
      for (const secret of allSecretValues) {
        // In the message, in every allowlisted field, in arrays, in URLs and in errors with causes.
        logger[method]('leak.probe', `provider said: bad token ${secret} (retry)`, {
          ...Object.fromEntries(loggableFields.map((field) => [field, `value ${secret} end`])),
          scopes: ['read', secret],
          url: `https://example.com/cb?code=${secret}&state=${secret}`,
          error: new Error(`request failed for ${secret}`, {
            cause: new BrokerError('provider_error', `upstream echoed ${secret}`, { cause: secret }),
          }),
        });
        logger[method]('leak.probe', 'thrown non-error', { error: `refresh_token=${secret}` });
        logger.child({ labels: { provider: secret } })[method]('leak.probe', secret);
      }
    }
    expect(lines.length).toBe(methods.length * allSecretValues.length * 3);
    assertNoSecret(lines.join('\n'));
  });

  it('masks credentials in Authorization-style text and URL query parameters', () => {
    const { logger, lines } = capture();
    logger.warn('http.failed', `GET /x with Authorization: Bearer ${secrets.opaque}`, {
      url: `https://slack.com/api/oauth.v2.access?client_secret=${secrets.opaque}`,
      reason: `callback?code=${secrets.code}&x=1`,
    });
    assertNoSecret(lines.join('\n'));
    expect(lines[0]).toContain('https://slack.com/api/oauth.v2.access');
  });

  it('keeps identifiers an operator needs: uuids, emails, provider ids, lower-case slugs', () => {
    const { logger, entries } = capture();
    const connectionId = '3f2c9a1e-7b4d-4c2a-9f1e-8d7c6b5a4f3e';
    logger.info('connection.updated', 'ok', {
      connectionId,
      callerEmail: 'billing-worker@acme-prod.iam.gserviceaccount.com',
      userId: 'user_8f3b2c9a1d7e4f60',
      provider: 'salesforce',
    });
    expect(entries()[0]).toMatchObject({
      connectionId,
      callerEmail: 'billing-worker@acme-prod.iam.gserviceaccount.com',
      userId: 'user_8f3b2c9a1d7e4f60',
    });
  });

  it('logs unknown errors with their stack, and broker errors with their code but no stack', () => {
    const { logger, entries } = capture();
    logger.error('request.failed', 'unexpected', { error: new TypeError('boom') });
    logger.warn('request.rejected', 'expected', { error: new BrokerError('not_connected', 'no connection') });
    const [unknown, expected] = entries() as [{ error: Record<string, unknown> }, { error: Record<string, unknown> }];
    expect(unknown.error).toMatchObject({ name: 'TypeError', message: 'boom' });
    expect(String(unknown.error.stack)).toContain('logger.test.ts');
    expect(expected.error).toMatchObject({ name: 'BrokerError', code: 'not_connected' });
    expect(expected.error.stack).toBeUndefined();
  });

  it('filters below the minimum severity and rejects malformed event names', () => {
    const { logger, entries } = capture({ minSeverity: 'WARNING' });
    logger.info('a.b', 'hidden');
    logger.warn('Bad Event!', 'shown');
    expect(entries()).toHaveLength(1);
    expect(entries()[0]).toMatchObject({ severity: 'WARNING', event: 'invalid_event_name' });
  });

  it('correlates with Cloud Trace from traceparent, naming the project', () => {
    const trace = traceFromHeaders({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    const { logger, entries } = capture({ projectId: 'acme-prod' });
    logger.child({ trace: trace! }).info('a.b', 'm');
    expect(entries()[0]).toMatchObject({
      'logging.googleapis.com/trace': 'projects/acme-prod/traces/4bf92f3577b34da6a3ce929d0e0e4736',
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
    });
  });
});

describe('traceFromHeaders', () => {
  it('reads the legacy X-Cloud-Trace-Context header, converting the decimal span id to hex', () => {
    expect(traceFromHeaders({ 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1' })).toEqual({
      traceId: '105445aa7843bc8bf206b12000100000',
      spanId: '0000000000000001',
      sampled: true,
    });
  });

  it('prefers traceparent and ignores malformed or all-zero trace ids', () => {
    expect(traceFromHeaders({ traceparent: 'garbage' })).toBeUndefined();
    expect(traceFromHeaders({ traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` })).toBeUndefined();
    expect(
      traceFromHeaders({
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
        'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1',
      }),
    ).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: false });
  });
});
