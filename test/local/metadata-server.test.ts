import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIdTokenVerifier } from '../../shared/auth/id-token-verifier.js';
import { type IdTokenIssuer, startIdTokenIssuer } from '../../local/id-token-issuer.js';
import { type MetadataServer, startMetadataServer } from '../../local/metadata-server.js';

const SERVICE_ACCOUNT = 'product-backend@acme-dev.iam.gserviceaccount.com';
const AUDIENCE = 'https://authorize-xyz-uc.a.run.app';
const flavor = { 'Metadata-Flavor': 'Google' };

let issuer: IdTokenIssuer;
let metadata: MetadataServer;

beforeAll(async () => {
  issuer = await startIdTokenIssuer();
  metadata = await startMetadataServer({ issuer, serviceAccountEmail: SERVICE_ACCOUNT, projectId: 'acme-dev' });
});
afterAll(async () => {
  await metadata.stop();
  await issuer.stop();
});
beforeEach(() => metadata.resetCounts());

const get = (path: string, headers: Record<string, string> = flavor) =>
  fetch(`${metadata.url}/computeMetadata/v1/${path}`, { headers });

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
}

describe('startMetadataServer', () => {
  it('refuses requests without Metadata-Flavor: Google, or proxied ones, with 403', async () => {
    const refused: Record<string, string>[] = [{}, { 'Metadata-Flavor': 'google-ish' }, { ...flavor, 'X-Forwarded-For': '10.0.0.1' }];
    for (const headers of refused) {
      const response = await get(`instance/service-accounts/default/identity?audience=${AUDIENCE}`, headers);
      expect(response.status).toBe(403);
      expect(response.headers.get('metadata-flavor')).toBe('Google');
    }
    expect(metadata.requestCounts()).toMatchObject({ forbidden: 3, identity: 0 });
  });

  it('answers the environment probe, the email and the project id as the real server does', async () => {
    const probe = await get('instance');
    expect(probe.status).toBe(200);
    expect(probe.headers.get('metadata-flavor')).toBe('Google');
    expect(await (await get('instance/service-accounts/default/email')).text()).toBe(SERVICE_ACCOUNT);
    expect(await (await get(`instance/service-accounts/${SERVICE_ACCOUNT}/email`)).text()).toBe(SERVICE_ACCOUNT);
    expect(await (await get('project/project-id')).text()).toBe('acme-dev');
    expect((await get('instance/service-accounts/someone-else@x.iam.gserviceaccount.com/email')).status).toBe(404);
    expect(metadata.requestCounts()).toMatchObject({ probe: 1, email: 2, projectId: 1, notFound: 1 });
  });

  it('mints ID tokens for the audience asked, with the email only in the full format', async () => {
    const full = await (await get(`instance/service-accounts/default/identity?audience=${AUDIENCE}&format=full`)).text();
    const verifier = createIdTokenVerifier({ audiences: [AUDIENCE], issuers: [issuer.issuer], jwksUrl: issuer.jwksUrl });
    await expect(verifier.verify(full)).resolves.toMatchObject({ email: SERVICE_ACCOUNT, audience: AUDIENCE });

    const standard = await (await get(`instance/service-accounts/default/identity?audience=${AUDIENCE}`)).text();
    expect(claimsOf(standard)).toMatchObject({ aud: AUDIENCE, iss: issuer.issuer });
    expect(claimsOf(standard)).not.toHaveProperty('email');

    const missing = await get('instance/service-accounts/default/identity');
    expect(missing.status).toBe(400);
    expect(metadata.requestCounts().identity).toBe(3);
    expect(metadata.identityAudiences()).toEqual([AUDIENCE, AUDIENCE]);
  });

  it('hands out access tokens in the shape of the real token endpoint', async () => {
    const response = await get('instance/service-accounts/default/token?scopes=https://www.googleapis.com/auth/cloud-platform');
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({ access_token: expect.stringMatching(/^ya29\.local-[A-Za-z0-9_-]{43}$/), expires_in: 3599, token_type: 'Bearer' });
    expect(metadata.requestCounts().token).toBe(1);
  });
});
