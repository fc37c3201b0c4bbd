// An IAM Service Account Credentials stand-in on loopback: `generateIdToken` for the accounts a caller may
// impersonate, as google-auth-library's Impersonated client (its `endpoint` option) and gcloud call it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IdTokenSigner } from './id-token-issuer.js';

export interface StartIamCredentialsStandinOptions {
  /** Signs the ID tokens; the same issuer whose keys the verifier under test trusts. */
  readonly issuer: Pick<IdTokenSigner, 'mint'>;
  /** The IAM principal an access token stands for (`user:alice@example.com`), or undefined when it is not valid. */
  readonly principalOf: (accessToken: string) => string | undefined;
  /** Who holds `roles/iam.serviceAccountTokenCreator` on each service account (by email), as IAM principals. */
  readonly tokenCreators: Readonly<Record<string, readonly string[]>>;
  /** 0 or absent: any free port. */
  readonly port?: number;
}

export interface GenerateIdTokenCall {
  /** Undefined when the access token was missing or not valid. */
  readonly principal: string | undefined;
  readonly serviceAccount: string;
  readonly audience: string | undefined;
  readonly includeEmail: boolean;
  readonly status: number;
}

export interface IamCredentialsStandin {
  /** What Impersonated's `endpoint` option takes (in place of https://iamcredentials.googleapis.com). */
  readonly endpoint: string;
  /** Every generateIdToken request, in order. */
  calls(): readonly GenerateIdTokenCall[];
  stop(): Promise<void>;
}

// Request bodies are a few hundred bytes; anything much larger is not a credentials request.
const MAX_BODY_BYTES = 16 * 1024;
const GENERATE_ID_TOKEN_PATH = /^\/v1\/projects\/[^/]+\/serviceAccounts\/([^/:]+):generateIdToken$/;

/** Google's error body: `{ error: { code, message, status } }`. */
function sendError(response: ServerResponse, code: number, status: string, message: string): number {
  response.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify({ error: { code, message, status } }));
  return code;
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startIamCredentialsStandin(options: StartIamCredentialsStandinOptions): Promise<IamCredentialsStandin> {
  const calls: GenerateIdTokenCall[] = [];

  const generateIdToken = async (request: IncomingMessage, response: ServerResponse, serviceAccount: string): Promise<void> => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const principal = bearer === undefined ? undefined : options.principalOf(bearer);
    const text = await readBody(request);
    let body: { audience?: unknown; includeEmail?: unknown; delegates?: unknown } = {};
    try {
      body = text === undefined || text === '' ? {} : (JSON.parse(text) as typeof body);
    } catch {
      body = {};
    }
    const audience = typeof body.audience === 'string' && body.audience !== '' ? body.audience : undefined;
    const includeEmail = body.includeEmail === true;
    const answer = async (): Promise<number> => {
      if (principal === undefined) {
        return sendError(response, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
      }
      // The real service answers the same whether the account is missing or not yours: nothing to probe with.
      if (!(options.tokenCreators[serviceAccount] ?? []).includes(principal)) {
        return sendError(response, 403, 'PERMISSION_DENIED', "Permission 'iam.serviceAccounts.getOpenIdToken' denied on resource (or it may not exist).");
      }
      if (text === undefined) return sendError(response, 400, 'INVALID_ARGUMENT', 'Request body too large.');
      if (audience === undefined) return sendError(response, 400, 'INVALID_ARGUMENT', 'Audience is required.');
      if (Array.isArray(body.delegates) && body.delegates.length > 0) {
        return sendError(response, 400, 'INVALID_ARGUMENT', 'Delegation chains are not supported by this stand-in.');
      }
      // Without includeEmail the token carries no email claims, as Google's does.
      const token = await options.issuer.mint({
        email: serviceAccount,
        audience,
        ...(includeEmail ? {} : { extraClaims: { email: undefined, email_verified: undefined } }),
      });
      response.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify({ token }));
      return 200;
    };
    calls.push({ principal, serviceAccount, audience, includeEmail, status: await answer() });
  };

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://iamcredentials.local').pathname;
    const match = GENERATE_ID_TOKEN_PATH.exec(path);
    if (match === null) {
      sendError(response, 404, 'NOT_FOUND', `This stand-in answers generateIdToken only, not ${path}.`);
      return;
    }
    if (request.method !== 'POST') {
      sendError(response, 405, 'METHOD_NOT_ALLOWED', 'generateIdToken is a POST.');
      return;
    }
    generateIdToken(request, response, decodeURIComponent(match[1] as string)).catch((error: unknown) => {
      if (!response.headersSent) sendError(response, 500, 'INTERNAL', error instanceof Error ? error.message : String(error));
    });
  });

  const port = await listen(server, options.port ?? 0);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls: () => [...calls],
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
