import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIdTokenVerifier } from '../../shared/auth/id-token-verifier.js';
import { runIdTokenCli } from '../../local/id-token-cli.js';
import { LOCAL_ID_TOKEN_ISSUER, localIssuerDataDir, startIdTokenIssuer } from '../../local/id-token-issuer.js';

const EMAIL = 'reader@acme-dev.iam.gserviceaccount.com';
const AUDIENCE = 'http://127.0.0.1:8080';
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const jwtLine = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/;

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'id-token-cli-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runIdTokenCli(argv, {
    dataDir,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

async function verifyAgainstLocalStack(token: string, keyDir: string) {
  const issuer = await startIdTokenIssuer({ dataDir: keyDir });
  try {
    const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [LOCAL_ID_TOKEN_ISSUER], jwksUrl: issuer.jwksUrl });
    return await verifier.verify(token);
  } finally {
    await issuer.stop();
  }
}

describe('local:id-token', () => {
  it('prints only a token, which verifies against the local stack sharing its key directory', async () => {
    const result = await run(['--email', EMAIL, '--audience', AUDIENCE]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(jwtLine);
    await expect(verifyAgainstLocalStack(result.stdout.trim(), dataDir)).resolves.toMatchObject({
      email: EMAIL,
      audience: AUDIENCE,
      issuer: LOCAL_ID_TOKEN_ISSUER,
    });
  });

  it('uses the key a running local stack created', async () => {
    const stack = await startIdTokenIssuer({ dataDir });
    try {
      const { stdout } = await run(['--email', EMAIL, '--audience', AUDIENCE, '--expires-in', '60']);
      const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [stack.issuer], jwksUrl: stack.jwksUrl });
      await expect(verifier.verify(stdout.trim())).resolves.toMatchObject({ email: EMAIL });
      const claims = JSON.parse(Buffer.from(stdout.split('.')[1] ?? '', 'base64url').toString()) as { iat: number; exp: number };
      expect(claims.exp - claims.iat).toBe(60);
    } finally {
      await stack.stop();
    }
  });

  it('answers a usage error with exit code 2, and creates nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--audience', AUDIENCE], /--email is required/],
      [['--email', EMAIL], /--audience is required/],
      [['--email', 'not-an-email', '--audience', AUDIENCE], /--email must be an email address/],
      [['--email', EMAIL, '--audience', ''], /--audience/],
      [['--email', EMAIL, '--audience', AUDIENCE, '--expires-in', '7200'], /at most 3600/],
      [['--email', EMAIL, '--audience', AUDIENCE, '--expires-in', 'soon'], /--expires-in/],
      [['--email', EMAIL, '--audience', AUDIENCE, '--scope', 'x'], /Unknown option '--scope'/],
      [['--email', EMAIL, '--audience', AUDIENCE, 'extra'], /extra/],
      [['--email'], /argument missing/],
    ];
    for (const [argv, problem] of cases) {
      const result = await run(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(problem);
      expect(result.stderr).toContain('Usage: npm run -s local:id-token -- --email SERVICE_ACCOUNT_EMAIL --audience');
    }
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('works as the npm script, with its key under .local/id-token-issuer', async () => {
    const npm = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile('npm', ['run', '-s', 'local:id-token', '--', ...args], { cwd: repoRoot, timeout: 60_000 }, (error, stdout, stderr) => {
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
        });
      });
    const ok = await npm(['--email', EMAIL, '--audience', AUDIENCE]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(jwtLine);
    await expect(verifyAgainstLocalStack(ok.stdout.trim(), localIssuerDataDir(repoRoot))).resolves.toMatchObject({ email: EMAIL });

    const bad = await npm(['--email', EMAIL]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('--audience is required');
  });
});
