// A GCE / Cloud Run metadata-server stand-in on loopback, for google-auth-library via GCE_METADATA_HOST.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IdTokenSigner } from './id-token-issuer.js';

export interface StartMetadataServerOptions {
  /** Signs the identity tokens; use the same issuer whose keys the verifier under test trusts. */
  readonly issuer: Pick<IdTokenSigner, 'mint'>;
  readonly serviceAccountEmail: string;
  readonly projectId: string;
  /** 0 or absent: any free port. */
  readonly port?: number;
  /** What `instance/region` answers (as Cloud Run does: projects/NUMBER/regions/REGION); europe-west1 by default. */
  readonly region?: string;
}

export const metadataEndpoints = [
  'probe',
  'identity',
  'token',
  'email',
  'scopes',
  'projectId',
  'universeDomain',
  'region',
  'notFound',
  'methodNotAllowed',
  'forbidden',
] as const;
export type MetadataEndpoint = (typeof metadataEndpoints)[number];

export interface MetadataServer {
  /** What `GCE_METADATA_HOST` should be set to. */
  readonly host: string;
  readonly url: string;
  /** Requests per endpoint since start (or the last reset): tests assert a client's caching with it. */
  requestCounts(): Record<MetadataEndpoint, number>;
  /** The `audience` of every identity request, in order. */
  identityAudiences(): readonly string[];
  resetCounts(): void;
  stop(): Promise<void>;
}

const ACCESS_TOKEN_LIFETIME_SECONDS = 3599;
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

interface Answer {
  readonly endpoint: MetadataEndpoint;
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

const text = (endpoint: MetadataEndpoint, body: string, status = 200): Answer => ({ endpoint, status, body });

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startMetadataServer(options: StartMetadataServerOptions): Promise<MetadataServer> {
  if (!options.serviceAccountEmail.includes('@')) throw new TypeError('serviceAccountEmail must be an email');
  if (!options.projectId) throw new TypeError('startMetadataServer needs a projectId');
  const counts = Object.fromEntries(metadataEndpoints.map((name) => [name, 0])) as Record<MetadataEndpoint, number>;
  const audiences: string[] = [];
  const accountNames = new Set(['default', options.serviceAccountEmail]);

  const serviceAccount = async (rest: string, query: URLSearchParams): Promise<Answer> => {
    switch (rest) {
      case '':
        return text('probe', 'aliases\nemail\nidentity\nscopes\ntoken\n');
      case 'email':
        return text('email', options.serviceAccountEmail);
      case 'scopes':
        return text('scopes', `${CLOUD_PLATFORM_SCOPE}\n`);
      case 'identity': {
        const audience = query.get('audience');
        // The real server answers 400 with this text when the audience is missing.
        if (!audience) return text('identity', 'non-empty audience parameter required', 400);
        audiences.push(audience);
        // Only the `full` format carries the email; `standard` (the default) does not.
        const full = query.get('format') === 'full';
        const token = await options.issuer.mint({
          email: options.serviceAccountEmail,
          audience,
          ...(full ? {} : { extraClaims: { email: undefined, email_verified: undefined } }),
        });
        return text('identity', token);
      }
      case 'token':
        return {
          endpoint: 'token',
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({
            access_token: `ya29.local-${randomBytes(32).toString('base64url')}`,
            expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
            token_type: 'Bearer',
          }),
        };
      default:
        return text('notFound', 'Not Found', 404);
    }
  };

  const answer = async (request: IncomingMessage): Promise<Answer> => {
    // The real server refuses proxied requests and requests without the flavor header (SSRF guards).
    if (request.headers['metadata-flavor'] !== 'Google' || request.headers['x-forwarded-for'] !== undefined) {
      return text('forbidden', 'Missing required header: Metadata-Flavor', 403);
    }
    if (request.method !== 'GET') return text('methodNotAllowed', 'Method Not Allowed', 405);
    const url = new URL(request.url ?? '/', 'http://metadata.google.internal');
    const path = url.pathname;
    if (path === '/') return text('probe', 'computeMetadata/\n');
    if (path === '/computeMetadata/' || path === '/computeMetadata/v1' || path === '/computeMetadata/v1/') {
      return text('probe', 'instance/\nproject/\nuniverse/\n');
    }
    // gcp-metadata's isAvailable() probes `instance` to detect that it runs on Google Cloud.
    if (path === '/computeMetadata/v1/instance' || path === '/computeMetadata/v1/instance/') {
      return text('probe', 'attributes/\nhostname\nid\nservice-accounts/\nzone\n');
    }
    if (path === '/computeMetadata/v1/instance/service-accounts/') {
      return text('probe', [...accountNames].map((name) => `${name}/\n`).join(''));
    }
    const account = /^\/computeMetadata\/v1\/instance\/service-accounts\/([^/]+)\/(.*)$/.exec(path);
    if (account) {
      const [, name = '', rest = ''] = account;
      if (!accountNames.has(decodeURIComponent(name))) return text('notFound', 'Not Found', 404);
      return serviceAccount(rest, url.searchParams);
    }
    if (path === '/computeMetadata/v1/project/project-id') return text('projectId', options.projectId);
    if (path === '/computeMetadata/v1/instance/region') return text('region', `projects/123456789012/regions/${options.region ?? 'europe-west1'}`);
    if (path === '/computeMetadata/v1/universe/universe-domain') return text('universeDomain', 'googleapis.com');
    return text('notFound', 'Not Found', 404);
  };

  const server = createServer((request, response) => {
    answer(request).then(
      (result) => {
        counts[result.endpoint] += 1;
        response.writeHead(result.status, {
          'metadata-flavor': 'Google',
          'content-type': result.contentType ?? 'application/text',
          'cache-control': 'no-store',
        });
        response.end(result.body);
      },
      // Only minting an identity token can fail here; the real server answers its own failures with a bare 500.
      () => response.writeHead(500, { 'cache-control': 'no-store' }).end('Internal Server Error'),
    );
  });

  const port = await listen(server, options.port ?? 0);
  const host = `127.0.0.1:${port}`;
  return {
    host,
    url: `http://${host}`,
    requestCounts: () => ({ ...counts }),
    identityAudiences: () => [...audiences],
    resetCounts: () => {
      for (const name of metadataEndpoints) counts[name] = 0;
      audiences.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
