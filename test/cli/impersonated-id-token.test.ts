// An operator's way in: the CLI impersonates the operator service account (IAM Credentials generateIdToken through
// google-auth-library's Impersonated client, against the local stand-in) and the real admin function admits the
// token because its email is the allowlisted operator account; a person without Token Creator gets nothing.
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { impersonatedIdToken } from '../../cli/id-token-source.js';
import { type IamCredentialsStandin, startIamCredentialsStandin } from '../../local/iam-credentials-standin.js';
import { type AdminHarness, startAdminHarness } from '../functions/admin-harness.js';
import { runCliInProcess } from './cli-runner.js';

/** As Terraform names them: the operator account is on ADMIN_ALLOWLIST, operator_members may impersonate it. */
const OPERATOR_ACCOUNT = 'oauth-broker-operator@admin-test.iam.gserviceaccount.com';
const OTHER_ACCOUNT = 'oauth-broker-build@admin-test.iam.gserviceaccount.com';
const ALICE = { principal: 'user:alice@example.com', accessToken: 'fake-access-token-of-alice' };
const MALLORY = { principal: 'user:mallory@example.com', accessToken: 'fake-access-token-of-mallory' };

let h: AdminHarness;
let iam: IamCredentialsStandin;
let url: string;

beforeAll(async () => {
  h = await startAdminHarness('cli-impersonation', { ADMIN_ALLOWLIST: OPERATOR_ACCOUNT });
  url = `${h.origin}/admin`;
  const principals = new Map([ALICE, MALLORY].map((person) => [person.accessToken, person.principal]));
  iam = await startIamCredentialsStandin({
    issuer: h.idTokens,
    principalOf: (token) => principals.get(token),
    tokenCreators: { [OPERATOR_ACCOUNT]: [ALICE.principal], [OTHER_ACCOUNT]: [ALICE.principal] },
  });
});
afterAll(async () => {
  await iam?.stop();
  await h?.stop();
});

/** A person's Application Default Credentials (as `gcloud auth application-default login` leaves them): an access token. */
function credentialsOf(person: typeof ALICE): () => Promise<GoogleAuth> {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: person.accessToken, expiry_date: Date.now() + 3_600_000 });
  return async () => new GoogleAuth({ authClient: client });
}

const callsSince = (before: number) => iam.calls().slice(before);

describe('the impersonated ID-token source', () => {
  it("mints the account's token for the admin audience with its email, once per run", async () => {
    const before = iam.calls().length;
    const source = impersonatedIdToken({ audience: url, url, serviceAccount: OPERATOR_ACCOUNT, auth: credentialsOf(ALICE), endpoint: iam.endpoint });
    const header = await source();
    expect(await source()).toBe(header);
    const claims = decodeJwt(header.replace(/^Bearer /, ''));
    expect(claims).toMatchObject({ aud: url, email: OPERATOR_ACCOUNT, email_verified: true, iss: h.idTokens.issuer });
    expect(callsSince(before)).toEqual([{ principal: ALICE.principal, serviceAccount: OPERATOR_ACCOUNT, audience: url, includeEmail: true, status: 200 }]);
  });

  it('refuses a person without Token Creator on the account, saying what grants it', async () => {
    const source = impersonatedIdToken({ audience: url, url, serviceAccount: OPERATOR_ACCOUNT, auth: credentialsOf(MALLORY), endpoint: iam.endpoint });
    const error = await source().then(
      () => undefined,
      (caught: unknown) => caught as Error & { code?: string },
    );
    expect(error?.code).toBe('identity_token_failed');
    expect(error?.message).toContain('roles/iam.serviceAccountTokenCreator');
    expect(error?.message).toContain('operator_members');
    expect(iam.calls().at(-1)).toMatchObject({ principal: MALLORY.principal, status: 403 });
  });
});

describe('the CLI with --impersonate-service-account against the admin function', () => {
  it('an operator member gets in as the operator account', async () => {
    const run = await runCliInProcess(['stats', '--json', '--url', url, '--impersonate-service-account', OPERATOR_ACCOUNT], {
      googleAuth: credentialsOf(ALICE),
      iamCredentialsEndpoint: iam.endpoint,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ total: 0 });
    expect(iam.calls().at(-1)).toMatchObject({ principal: ALICE.principal, serviceAccount: OPERATOR_ACCOUNT, audience: url, includeEmail: true });
  });

  it('the operator account is named by the environment as well', async () => {
    const run = await runCliInProcess(['stats', '--json'], {
      env: { OAUTH_BROKER_ADMIN_URL: url, OAUTH_BROKER_IMPERSONATE_SERVICE_ACCOUNT: OPERATOR_ACCOUNT },
      googleAuth: credentialsOf(ALICE),
      iamCredentialsEndpoint: iam.endpoint,
    });
    expect(run.code, run.stderr).toBe(0);
  });

  it('someone else cannot impersonate it: identity_token_failed, exit 1, nothing sent to the function', async () => {
    const run = await runCliInProcess(['stats', '--url', url, '--impersonate-service-account', OPERATOR_ACCOUNT], {
      googleAuth: credentialsOf(MALLORY),
      iamCredentialsEndpoint: iam.endpoint,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('identity_token_failed');
    expect(run.stderr).toContain("Permission 'iam.serviceAccounts.getOpenIdToken' denied");
  });

  it('an account that is not on ADMIN_ALLOWLIST is refused by the function, which is why Terraform puts the operator account there', async () => {
    const run = await runCliInProcess(['stats', '--url', url, '--impersonate-service-account', OTHER_ACCOUNT], {
      googleAuth: credentialsOf(ALICE),
      iamCredentialsEndpoint: iam.endpoint,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('caller_not_allowed (HTTP 403)');
  });
});
