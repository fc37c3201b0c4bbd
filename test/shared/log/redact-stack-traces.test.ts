// Redaction keeps the file paths of real stack traces readable wherever the code is checked out (CI clones into
// folders like /tmp/ci.MeS3/ or /tmp/Ci9Xq/), and still masks credentials in the same text.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets } from '../../../shared/log/redact.js';

const checkouts = ['Ci9Xq', 'ci.MeS3', 'Build2Agent'].map((folder) => join(tmpdir(), `${folder}-${process.pid}`, 'oauth-broker'));
afterAll(() => {
  for (const checkout of checkouts) rmSync(join(checkout, '..'), { recursive: true, force: true });
});

/** A real stack trace, thrown by a module that lives in `checkout`, with a credential in the error message. */
function stackThrownFrom(checkout: string, credential: string): string {
  const folder = join(checkout, 'shared', 'oauth');
  mkdirSync(folder, { recursive: true });
  const module = join(folder, 'token-endpoint.mjs');
  writeFileSync(module, `export function exchange() { throw new Error('provider said: ${credential}'); }\n`);
  const runner = join(checkout, 'run.mjs');
  writeFileSync(runner, `import { exchange } from './shared/oauth/token-endpoint.mjs';\ntry { exchange(); } catch (error) { process.stdout.write(error.stack); }\n`);
  return execFileSync(process.execPath, [runner], { encoding: 'utf8' });
}

describe('redacting a stack trace', () => {
  it.each(checkouts)('keeps every frame of %s readable and masks the credential', (checkout) => {
    const credential = randomBytes(32).toString('base64url');
    const stack = stackThrownFrom(checkout, credential);
    expect(stack).toContain(join(checkout, 'shared', 'oauth', 'token-endpoint.mjs'));
    const redacted = redactSecrets(stack);
    expect(redacted).not.toContain(credential);
    expect(redacted).toContain(REDACTED);
    expect(redacted).toContain(`${join(checkout, 'shared', 'oauth', 'token-endpoint.mjs')}:1:`);
    expect(redacted).toContain(`${join(checkout, 'run.mjs')}:2:`);
  });

  it('still masks a credential that sits inside a path, or a base64 secret that starts with a slash', () => {
    const inPath = `/var/lib/broker/Qa1${randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, '')}/file.txt`;
    expect(redactSecrets(inPath)).toContain(REDACTED);
    const slashFirst = `/${randomBytes(30).toString('base64').replaceAll('/', 'x')}Zz9`;
    expect(redactSecrets(`token ${slashFirst}`)).toBe(`token ${REDACTED}`);
  });
});
