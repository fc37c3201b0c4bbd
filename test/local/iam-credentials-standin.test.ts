// The IAM Credentials stand-in answers generateIdToken as Google's does: only for a Token Creator, with the email
// claims only when asked, and Google's error bodies otherwise.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IamCredentialsStandin, startIamCredentialsStandin } from '../../local/iam-credentials-standin.js';
import { createIdTokenSigner } from '../../local/id-token-issuer.js';

const ACCOUNT = 'oauth-broker-operator@acme-dev.iam.gserviceaccount.com';
const AUDIENCE = 'https://europe-west1-acme-dev.cloudfunctions.net/oauth-broker-admin';

let iam: IamCredentialsStandin;

beforeAll(async () => {
  iam = await startIamCredentialsStandin({
    issuer: await createIdTokenSigner(),
    principalOf: (token) => ({ 'alice-token': 'user:alice@example.com', 'bob-token': 'user:bob@example.com' })[token],
    tokenCreators: { [ACCOUNT]: ['user:alice@example.com'] },
  });
});
afterAll(() => iam.stop());

const generate = (body: unknown, token = 'alice-token', account = ACCOUNT) =>
  fetch(`${iam.endpoint}/v1/projects/-/serviceAccounts/${account}:generateIdToken`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('startIamCredentialsStandin', () => {
  it("mints the account's ID token for the audience, with email and email_verified only under includeEmail", async () => {
    const withEmail = await generate({ audience: AUDIENCE, includeEmail: true });
    expect(withEmail.status).toBe(200);
    const { token } = (await withEmail.json()) as { token: string };
    expect(decodeJwt(token)).toMatchObject({ aud: AUDIENCE, email: ACCOUNT, email_verified: true });

    const bare = (await (await generate({ audience: AUDIENCE })).json()) as { token: string };
    const claims = decodeJwt(bare.token);
    expect(claims.aud).toBe(AUDIENCE);
    expect(claims).not.toHaveProperty('email');
    expect(claims).not.toHaveProperty('email_verified');
  });

  it.each([
    ['no valid access token', { audience: AUDIENCE }, 'nobody', ACCOUNT, 401, 'UNAUTHENTICATED'],
    ['a caller without Token Creator', { audience: AUDIENCE }, 'bob-token', ACCOUNT, 403, 'PERMISSION_DENIED'],
    ['an account nobody may impersonate', { audience: AUDIENCE }, 'alice-token', 'other@acme-dev.iam.gserviceaccount.com', 403, 'PERMISSION_DENIED'],
    ['no audience', {}, 'alice-token', ACCOUNT, 400, 'INVALID_ARGUMENT'],
  ])('refuses %s with Google’s error body', async (_case, body, token, account, code, status) => {
    const response = await generate(body, token, account);
    expect(response.status).toBe(code);
    expect(await response.json()).toMatchObject({ error: { code, status } });
    expect(iam.calls().at(-1)).toMatchObject({ serviceAccount: account, status: code });
  });

  it('answers nothing but generateIdToken', async () => {
    const response = await fetch(`${iam.endpoint}/v1/projects/-/serviceAccounts/${ACCOUNT}:generateAccessToken`, { method: 'POST' });
    expect(response.status).toBe(404);
  });
});
