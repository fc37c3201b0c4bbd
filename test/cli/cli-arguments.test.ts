// The command line: every mistake is a usage error (exit 2) caught before anything is sent.
import { describe, expect, it } from 'vitest';
import { parseCliArguments } from '../../cli/cli-arguments.js';
import { UsageError } from '../../cli/usage-error.js';
import { runCliInProcess } from './cli-runner.js';

const URL_ENV = { OAUTH_BROKER_ADMIN_URL: 'https://admin-abc.a.run.app' };
const ID = `conn_${'a1'.repeat(15)}`;

describe('parseCliArguments', () => {
  it('reads list filters into the API query names, with the page size defaulting to the largest page for --all', () => {
    const parsed = parseCliArguments(['list', '--tenant', 't1', '--user', 'u1', '--provider', 'slack', '--status', 'needs_reauth', '--health', 'unhealthy', '--all'], URL_ENV);
    expect(parsed).toMatchObject({
      help: false,
      url: 'https://admin-abc.a.run.app',
      audience: 'https://admin-abc.a.run.app',
      command: { name: 'list', all: true, filters: { tenantId: 't1', userId: 'u1', provider: 'slack', status: 'needs_reauth', health: 'unhealthy', limit: 200 } },
    });
    expect(parseCliArguments(['list', '--limit', '7'], URL_ENV)).toMatchObject({ command: { all: false, filters: { limit: 7 } } });
  });

  it('takes --url over the environment, and --audience over the URL', () => {
    const parsed = parseCliArguments(['stats', '--url', 'http://127.0.0.1:8080/admin/', '--audience', 'aud-1', '--json'], URL_ENV);
    expect(parsed).toMatchObject({ url: 'http://127.0.0.1:8080/admin/', audience: 'aud-1', json: true, idToken: null });
    expect(parseCliArguments(['stats', '--url', 'http://127.0.0.1:8080/admin/'], {})).toMatchObject({ audience: 'http://127.0.0.1:8080/admin' });
  });

  it('reads one target or the whole-fleet flag for refresh and health, never both', () => {
    expect(parseCliArguments(['refresh', ID], URL_ENV)).toMatchObject({ command: { name: 'refresh', connectionId: ID } });
    expect(parseCliArguments(['refresh', '--all-expiring'], URL_ENV)).toMatchObject({ command: { name: 'refresh', connectionId: null } });
    expect(parseCliArguments(['health', '--all'], URL_ENV)).toMatchObject({ command: { name: 'health', connectionId: null } });
    expect(() => parseCliArguments(['health', ID, '--all'], URL_ENV)).toThrow(/not both/);
    expect(() => parseCliArguments(['refresh'], URL_ENV)).toThrow(/--all-expiring/);
  });

  it.each([
    [[], /a command is needed/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['stats', '--all'], /--all is not an option of stats/],
    [['list', '--status', 'sleeping'], /--status: must be one of active/],
    [['list', '--limit', '201'], /--limit: must be at most 200/],
    [['list', '--limit', '2.5'], /--limit: must be a whole number/],
    [['inspect', 'conn_123'], /not a connection id/],
    [['inspect', ID, 'extra'], /unexpected argument "extra"/],
    [['revoke'], /revoke needs a connection id/],
    [['rewrap', '--resume', 'job-1'], /not a re-wrap job id/],
    [['rewrap', '--batch-size', '0'], /--batch-size: must be at least 1/],
    [['stats', '--url', 'ftp://example.com'], /not an http\(s\) URL/],
    [['stats', '--id-token', 'two words'], /single token/],
    [['stats', '--bogus'], /bogus/],
    [['stats', '--impersonate-service-account', 'ops-lead@example.com'], /not a service account email/],
    [['stats', '--impersonate-service-account', 'op@p.iam.gserviceaccount.com', '--id-token', 'abc'], /give one/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCliArguments(argv, URL_ENV)).toThrow(UsageError);
    expect(() => parseCliArguments(argv, URL_ENV)).toThrow(message);
  });

  it('impersonates the service account --impersonate-service-account or the environment names, unless a token is given', () => {
    const operator = 'oauth-broker-operator@my-broker-project.iam.gserviceaccount.com';
    expect(parseCliArguments(['stats', '--impersonate-service-account', operator], URL_ENV)).toMatchObject({ impersonateServiceAccount: operator, idToken: null });
    const standing = { ...URL_ENV, OAUTH_BROKER_IMPERSONATE_SERVICE_ACCOUNT: operator };
    expect(parseCliArguments(['stats'], standing)).toMatchObject({ impersonateServiceAccount: operator });
    expect(parseCliArguments(['stats', '--id-token', 'abc'], standing)).toMatchObject({ impersonateServiceAccount: null, idToken: 'abc' });
    expect(parseCliArguments(['stats'], URL_ENV)).toMatchObject({ impersonateServiceAccount: null });
  });

  it('needs the admin URL from --url or OAUTH_BROKER_ADMIN_URL', () => {
    expect(() => parseCliArguments(['stats'], {})).toThrow(/OAUTH_BROKER_ADMIN_URL/);
  });
});

describe('the CLI on bad arguments', () => {
  it('exits 2 with the problem and a pointer to --help on stderr, and prints nothing on stdout', async () => {
    const run = await runCliInProcess(['list', '--status', 'sleeping'], { env: URL_ENV });
    expect(run).toEqual({ code: 2, stdout: '', stderr: expect.stringContaining('--status: must be one of') });
    expect(run.stderr).toContain('oauth-broker --help');
  });

  it('prints the usage on --help and exits 0', async () => {
    const run = await runCliInProcess(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['stats', 'list', 'inspect', 'refresh', 'health', 'revoke', 'rewrap']) expect(run.stdout).toContain(`  ${command}`);
    expect(run.stdout).toContain('gcloud auth print-identity-token');
    expect(run.stdout).toContain('npm run -s local:id-token');
  });
});
