// The package's entry point, as Node resolves it by name from the built dist/: importing the package (to reach its
// client, say) loads nothing and does not throw; a function start with a FUNCTION_TARGET loads that function or says why not.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Imports `specifiers` by name from the repository (Node's self-reference), in a process with only `env`. */
async function importByName(specifiers: readonly string[], env: Record<string, string> = {}) {
  const script = `for (const specifier of ${JSON.stringify(specifiers)}) { const module = await import(specifier); console.log(specifier, Object.keys(module).sort().join(',')); }`;
  return run(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', ...env } });
}

describe('the package entry point', () => {
  it('imports without a FUNCTION_TARGET or any configuration, and its client export is there', async () => {
    const { stdout } = await importByName(['oauth-broker', 'oauth-broker/client']);
    expect(stdout).toContain('oauth-broker \n');
    expect(stdout).toMatch(/oauth-broker\/client .*createBrokerClient/);
  });

  it('refuses a FUNCTION_TARGET that names no function of the broker', async () => {
    await expect(importByName(['oauth-broker'], { FUNCTION_TARGET: 'tokens', GOOGLE_CLOUD_PROJECT: 'acme-prod' })).rejects.toThrow(
      'FUNCTION_TARGET must name one of the broker\'s functions, got "tokens"',
    );
  });
});
