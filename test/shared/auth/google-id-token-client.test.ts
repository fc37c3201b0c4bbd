// The real google-auth-library, as a calling service uses it, against the metadata stand-in and our verifier.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GoogleAuth } from 'google-auth-library';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { authenticateCaller } from '../../../shared/auth/authenticate-caller.js';
import { createIdTokenVerifier } from '../../../shared/auth/id-token-verifier.js';
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import { type IdTokenIssuer, startIdTokenIssuer } from '../../../local/id-token-issuer.js';
import { type MetadataServer, startMetadataServer } from '../../../local/metadata-server.js';

const SERVICE_ACCOUNT = 'reader@acme-dev.iam.gserviceaccount.com';

let home: string;
let issuer: IdTokenIssuer;
let metadata: MetadataServer;
let service: Server;
let audience: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'google-auth-home-'));
  issuer = await startIdTokenIssuer();
  metadata = await startMetadataServer({ issuer, serviceAccountEmail: SERVICE_ACCOUNT, projectId: 'acme-dev' });
  // Nothing may find real credentials or the real metadata server: an empty HOME, no key file, and the
  // metadata host pointed at the stand-in. `ping-only` makes the library probe (the stand-in) as on Cloud Run.
  vi.stubEnv('HOME', home);
  vi.stubEnv('CLOUDSDK_CONFIG', join(home, 'gcloud'));
  vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', '');
  vi.stubEnv('GCE_METADATA_HOST', metadata.host);
  vi.stubEnv('GCE_METADATA_IP', '');
  vi.stubEnv('METADATA_SERVER_DETECTION', 'ping-only');
  vi.stubEnv('GOOGLE_CLOUD_PROJECT', 'acme-dev');

  // A stand-in for a broker function: it authenticates every request the way the functions do.
  service = createServer((request, response) => {
    authenticateCaller(request, verifier()).then(
      (caller) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ email: caller.email }));
      },
      (error: unknown) => {
        response.writeHead(isBrokerError(error) ? error.status : 500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ code: isBrokerError(error) ? error.code : 'internal' }));
      },
    );
  });
  await new Promise<void>((resolve) => service.listen({ host: '127.0.0.1', port: 0 }, resolve));
  audience = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise((resolve) => service.close(resolve));
  await metadata.stop();
  await issuer.stop();
  await rm(home, { recursive: true, force: true });
});

beforeEach(() => metadata.resetCounts());

let cachedVerifier: ReturnType<typeof createIdTokenVerifier> | undefined;
function verifier() {
  cachedVerifier ??= createIdTokenVerifier({ audiences: [audience], issuers: [issuer.issuer], jwksUrl: issuer.jwksUrl });
  return cachedVerifier;
}

describe('google-auth-library against the metadata stand-in', () => {
  it('getIdTokenClient obtains a token the verifier accepts, and reuses it while it is fresh', async () => {
    const client = await new GoogleAuth().getIdTokenClient(audience);
    const first = await client.request<{ email: string }>({ url: `${audience}/token` });
    expect(first.status).toBe(200);
    expect(first.data).toEqual({ email: SERVICE_ACCOUNT });
    const second = await client.request<{ email: string }>({ url: `${audience}/token` });
    expect(second.data).toEqual({ email: SERVICE_ACCOUNT });

    // One token for two calls: the library served the second from its cache.
    expect(metadata.requestCounts().identity).toBe(1);
    expect(metadata.identityAudiences()).toEqual([audience]);
    // The library probed the stand-in (never the real server) to decide it runs on Google Cloud.
    expect(metadata.requestCounts()).toMatchObject({ probe: 1, forbidden: 0 });
  });

  it('asks again for a token for a different audience', async () => {
    const auth = new GoogleAuth();
    const other = 'https://other-service.a.run.app';
    const headers = await (await auth.getIdTokenClient(other)).getRequestHeaders();
    const token = (headers.get('authorization') ?? '').replace(/^Bearer /, '');
    const rejected = await fetch(`${audience}/token`, { headers: { authorization: `Bearer ${token}` } });
    expect(rejected.status).toBe(401);
    expect(await rejected.json()).toEqual({ code: 'unauthenticated' });
    expect(metadata.identityAudiences()).toEqual([other]);
  });

  it('reads the project id and an access token from the stand-in', async () => {
    vi.stubEnv('GOOGLE_CLOUD_PROJECT', '');
    // Before the metadata server, the library asks a `gcloud` on PATH; this machine has one, Cloud Run does not.
    const path = process.env.PATH;
    vi.stubEnv('PATH', join(home, 'no-gcloud'));
    try {
      const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
      expect(await auth.getProjectId()).toBe('acme-dev');
      expect(await auth.getAccessToken()).toMatch(/^ya29\.local-/);
      expect(metadata.requestCounts()).toMatchObject({ projectId: 1, token: 1 });
    } finally {
      vi.stubEnv('PATH', path ?? '');
      vi.stubEnv('GOOGLE_CLOUD_PROJECT', 'acme-dev');
    }
  });
});
