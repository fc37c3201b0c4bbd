// The CLI's HTTP side against a tiny local server: what it sends, and how each kind of answer is reported.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BrokerClientError } from '../../client/broker-client-error.js';
import { createAdminClient } from '../../cli/admin-client.js';
import { explicitIdToken, googleIdToken } from '../../cli/id-token-source.js';
import { runCliInProcess } from './cli-runner.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJlLXZhbHVl';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let base: string;
let seen: Seen[] = [];
let reply: (res: ServerResponse) => void = (res) => res.writeHead(500).end();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      reply(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
});

const problem = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => (res: ServerResponse) =>
  res.writeHead(status, { 'content-type': 'application/problem+json', ...headers }).end(JSON.stringify(body));

const client = () => createAdminClient({ baseUrl: base, idToken: explicitIdToken(TOKEN) });

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof BrokerClientError)) throw new Error(`expected a BrokerClientError, got ${String(error)}`);
  return error;
}

describe('requests', () => {
  it('sends the ID token in Authorization and X-Serverless-Authorization, filters as query parameters, actions as JSON', async () => {
    reply = problem(404, { code: 'not_found', detail: 'No such connection', status: 404, title: 'Not found', type: 'urn:x' });
    await failure(client().listConnections({ tenantId: 'acme corp', status: 'active', limit: 5, cursor: 'abc/=' }));
    await failure(client().revoke(`conn_${'0'.repeat(30)}`));
    const [list, revoke] = seen;
    expect(list?.method).toBe('GET');
    expect(new URL(list?.url ?? '', 'http://x').pathname).toBe('/admin/api/connections');
    expect(Object.fromEntries(new URL(list?.url ?? '', 'http://x').searchParams)).toEqual({ tenantId: 'acme corp', status: 'active', limit: '5', cursor: 'abc/=' });
    expect(list?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(list?.headers['x-serverless-authorization']).toBe(`Bearer ${TOKEN}`);
    expect(revoke).toMatchObject({ method: 'POST', url: `/admin/api/connections/conn_${'0'.repeat(30)}/revoke`, body: '{}' });
    expect(revoke?.headers['content-type']).toBe('application/json');
  });

  it('gets its token from google-auth-library for the audience it was given, once per run', async () => {
    const audiences: string[] = [];
    const source = googleIdToken({
      audience: 'https://admin-abc.a.run.app',
      url: base,
      auth: async () => ({
        getIdTokenClient: async (audience: string) => {
          audiences.push(audience);
          return { getRequestHeaders: async () => new Headers({ authorization: `Bearer ${TOKEN}` }) } as never;
        },
      }),
    });
    expect(await source()).toBe(`Bearer ${TOKEN}`);
    expect(await source()).toBe(`Bearer ${TOKEN}`);
    expect(audiences).toEqual(['https://admin-abc.a.run.app']);
  });

  it('reports missing Application Default Credentials as identity_token_failed with the way in for a person', async () => {
    const source = googleIdToken({ audience: base, url: base, auth: () => Promise.reject(new Error('Could not load the default credentials')) });
    const error = await failure(source());
    expect(error.code).toBe('identity_token_failed');
    expect(error.message).toContain('--impersonate-service-account');
    expect(error.message).toContain('Could not load the default credentials');
  });
});

describe('answers', () => {
  it('turns problem+json into its code, detail, details and Retry-After', async () => {
    reply = problem(409, { code: 'lease_held', detail: 'Another run is working on this re-wrap job', retryable: true, details: { jobId: 'rewrap_1' } }, { 'retry-after': '7' });
    const error = await failure(client().rewrapStep({ batchSize: 10, maxBatches: 1 }));
    expect(error).toMatchObject({ code: 'lease_held', status: 409, retryable: true, retryAfterSeconds: 7, details: { jobId: 'rewrap_1' } });
    expect(error.message).toBe('Another run is working on this re-wrap job');
  });

  it("names the platform's body-less refusals (Cloud Run IAM's 403) by their status", async () => {
    reply = (res) => res.writeHead(403, { 'content-type': 'text/html' }).end('<html>Forbidden</html>');
    expect(await failure(client().stats())).toMatchObject({ code: 'caller_not_allowed', status: 403 });
  });

  it('refuses to follow a redirect to a sign-in page', async () => {
    reply = (res) => res.writeHead(302, { location: 'https://accounts.google.com/signin' }).end();
    const error = await failure(client().stats());
    expect(error.code).toBe('unauthenticated');
    expect(error.message).toContain('https://accounts.google.com/signin');
  });

  it('refuses a success that is not JSON, or not the shape of the API', async () => {
    reply = (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>');
    expect((await failure(client().stats())).code).toBe('invalid_response');
    reply = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ total: 3, accessToken: 'x' }));
    const error = await failure(client().stats());
    expect(error.code).toBe('invalid_response');
    expect(error.message).toContain('same version');
  });

  it('says so when nothing answers', async () => {
    const unreachable = createAdminClient({ baseUrl: 'http://127.0.0.1:1/admin', idToken: explicitIdToken(TOKEN) });
    expect(await failure(unreachable.stats())).toMatchObject({ code: 'admin_unreachable', retryable: true });
  });
});

describe('the CLI on a refusal', () => {
  it('prints the code, status and detail on stderr, exits 1, and never echoes the token it sent', async () => {
    reply = problem(403, { code: 'caller_not_allowed', detail: 'This identity is not an operator of this broker', status: 403 });
    const run = await runCliInProcess(['stats', '--url', base, '--id-token', TOKEN]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('caller_not_allowed (HTTP 403): This identity is not an operator of this broker');
    expect(run.stderr).toContain('ADMIN_ALLOWLIST');
    expect(`${run.stdout}${run.stderr}`).not.toContain(TOKEN);
    expect(seen).toHaveLength(1);
  });

  it('prints the details of an invalid request', async () => {
    reply = problem(400, { code: 'invalid_request', detail: "The request's query is invalid", details: { fields: ['cursor'] } });
    const run = await runCliInProcess(['list', '--cursor', 'garbage', '--url', base, '--id-token', TOKEN, '--json']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('invalid_request (HTTP 400)');
    expect(run.stderr).toContain('"fields":["cursor"]');
  });
});
