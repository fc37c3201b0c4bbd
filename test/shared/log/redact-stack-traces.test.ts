// Redaction keeps the file paths and frames of real stack traces readable wherever the code is checked out (CI clones
// into folders like /tmp/ci.MeS3/ or /tmp/Ci9Xq/), and still masks every kind of credential in the same text.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/log/logger.js';
import { REDACTED, redactSecrets } from '../../../shared/log/redact.js';
import { credentialSamples } from '../../support/credential-samples.js';

const checkouts = ['Ci9Xq', 'ci.MeS3', 'Build2Agent', 'OAuth2Broker2026Checkout'].map((folder) =>
  join(tmpdir(), `${folder}-${process.pid}`, 'oauth-broker'),
);
afterAll(() => {
  for (const checkout of checkouts) rmSync(join(checkout, '..'), { recursive: true, force: true });
});

const samples = Object.entries({ ...credentialSamples(), bearer: `Bearer ${randomBytes(24).toString('base64url')}` });

/**
 * Real stack traces, one per credential sample, thrown by a class method (named like google-auth-library's, mixed case
 * and a digit) of a module that lives in `checkout`, with the credential in the error message.
 */
function stacksThrownFrom(checkout: string): string[] {
  const folder = join(checkout, 'shared', 'oauth');
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'token-endpoint.mjs'),
    'export class OAuth2Client { getRequestMetadataAsync(said) { throw new Error(`provider said: ${said}`); } }\n',
  );
  writeFileSync(
    join(checkout, 'run.mjs'),
    [
      "import { OAuth2Client } from './shared/oauth/token-endpoint.mjs';",
      'const stacks = JSON.parse(process.argv[2]).map((said) => {',
      '  try { new OAuth2Client().getRequestMetadataAsync(said); } catch (error) { return error.stack; }',
      '});',
      'process.stdout.write(JSON.stringify(stacks));',
    ].join('\n'),
  );
  const output = execFileSync(process.execPath, [join(checkout, 'run.mjs'), JSON.stringify(samples.map(([, value]) => value))], { encoding: 'utf8' });
  return JSON.parse(output) as string[];
}

describe('redacting a stack trace', () => {
  it.each(checkouts)('keeps every frame thrown from %s readable and masks each credential in the message', (checkout) => {
    const frames = [
      `at OAuth2Client.getRequestMetadataAsync (file://${join(checkout, 'shared', 'oauth', 'token-endpoint.mjs')}:1:`,
      `at file://${join(checkout, 'run.mjs')}:3:`,
    ];
    const stacks = stacksThrownFrom(checkout);
    expect(stacks).toHaveLength(samples.length);
    stacks.forEach((stack, index) => {
      const [kind, credential] = samples[index]!;
      for (const frame of frames) expect(stack).toContain(frame);
      const redacted = redactSecrets(stack);
      expect(redacted, kind).not.toContain(credential.slice(-16));
      expect(redacted, kind).toContain(`provider said: ${kind === 'bearer' ? 'Bearer ' : ''}${REDACTED}`);
      for (const frame of frames) expect(redacted, kind).toContain(frame);
    });
  });

  it('logs an error thrown from such a checkout with its stack readable and its credential masked', () => {
    const [checkout] = checkouts;
    const [stack] = stacksThrownFrom(checkout!);
    const error = Object.assign(new Error(stack!.split('\n')[0]!.replace(/^Error: /, '')), { stack });
    const lines: string[] = [];
    createLogger({ sink: (line) => lines.push(line) }).error('request.failed', 'unexpected', { error });
    const logged = (JSON.parse(lines[0]!) as { error: { stack: string; message: string } }).error;
    expect(logged.message).toBe(`provider said: ${REDACTED}`);
    expect(logged.stack).toContain(`${join(checkout!, 'shared', 'oauth', 'token-endpoint.mjs')}:1:`);
    expect(lines[0]).not.toContain(samples[0]![1]);
  });

  it('still masks a credential that sits inside a path, or a base64 secret that starts with a slash', () => {
    const inPath = `/var/lib/broker/Qa1${randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, '')}/file.txt`;
    expect(redactSecrets(inPath)).toContain(REDACTED);
    const slashFirst = `/${randomBytes(30).toString('base64').replaceAll('/', 'x')}Zz9`;
    expect(redactSecrets(`token ${slashFirst}`)).toBe(`token ${REDACTED}`);
  });

  it('keeps names made of words, even long ones that mix cases and digits, and masks random runs of the same length', () => {
    for (const name of ['OAuth2Client.getRequestMetadataAsync', 'GoogleCloudPlatform2024', 'x509Certificate2Pem.toJSON']) {
      expect(redactSecrets(`at ${name} (x)`)).toBe(`at ${name} (x)`);
    }
    expect(redactSecrets(`at Qx7vR2mKp9LwZ4tYb8Nc (x)`)).toBe(`at ${REDACTED} (x)`);
  });
});
