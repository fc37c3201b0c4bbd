// A typed client for the broker's `token` and `proxy` functions, for the internal services that call them.
//
// It authenticates the way the broker expects (DESIGN.md "Caller identity"): a Google ID token for the
// function's audience from google-auth-library (the metadata server on Cloud Run, a service-account key or
// impersonation elsewhere), sent in `X-Serverless-Authorization` for Cloud Run IAM and in `Authorization`
// for the function's own verification. It retries only what the broker calls retryable (and unreachable
// brokers), caches access tokens until shortly before they expire, and shares in-flight requests.
import { GoogleAuth } from 'google-auth-library';
import { BrokerClientError } from './broker-client-error.js';
import { TokenCache } from './token-cache.js';
import { brokerErrorHeader, type ConnectionName, connectionHeaderNames, isTokenResponse, readProblem, type TokenRequest } from './wire.js';

export type { ConnectionName, TokenRequest } from './wire.js';

export interface AccessToken {
  readonly accessToken: string;
  readonly tokenType: string;
  /** Null when the provider's token lives until revoked. */
  readonly expiresAt: Date | null;
  readonly scopes: readonly string[];
  readonly connectionId: string;
  readonly providerAccountId: string;
  /** Non-secret facts the provider's API needs, e.g. Salesforce `instanceUrl`. */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface BrokerClientOptions {
  /** The token function's URL. */
  readonly tokenUrl: string;
  /** The ID-token audience the broker accepts; the token URL by default. */
  readonly audience?: string;
  /** The proxy function's URL, for `fetch`; its own URL is its ID-token audience unless `proxyAudience` says otherwise. */
  readonly proxyUrl?: string;
  readonly proxyAudience?: string;
  /** For tests and unusual credentials; `new GoogleAuth()` (Application Default Credentials) by default. */
  readonly auth?: Pick<GoogleAuth, 'getIdTokenClient'>;
  readonly fetch?: typeof fetch;
  /** Attempts per request, the first included (default 4). */
  readonly maxAttempts?: number;
  /** The longest single wait between attempts; a longer Retry-After fails fast instead (default 10 s). */
  readonly maxRetryDelayMs?: number;
  /** Cached tokens are dropped this long before they expire (default 60 s), or minValiditySeconds if longer. */
  readonly expirySkewSeconds?: number;
  /** Tokens without an expiry are re-read after this long, so a revoked grant shows up (default 300 s). */
  readonly maxCacheSeconds?: number;
  /** Per attempt (default 15 s: the broker may be refreshing at a slow provider). */
  readonly timeoutMs?: number;
  readonly maxCacheEntries?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface BrokerClient {
  getToken(request: TokenRequest): Promise<AccessToken>;
  /**
   * Calls the provider's API through the broker's proxy, as the platform `fetch` would call it directly: `path` is the
   * API path (`/gmail/v1/users/me/messages`), `init` the method, headers and body (a stream needs `duplex: 'half'`).
   * Resolves with the provider's own response, whatever its status; throws BrokerClientError when the broker itself
   * refused or failed (its `x-broker-error` header says so), e.g. `proxy_not_allowed`. Never retried: a call may not be
   * idempotent.
   */
  fetch(provider: string, path: string, init: RequestInit | undefined, connection: ConnectionName): Promise<Response>;
  /** Forgets cached tokens, e.g. after the provider rejected one. */
  clearCache(): void;
}

interface IdTokenSource {
  getRequestHeaders(url?: string): Promise<Headers | Record<string, string>>;
}

function parseToken(wire: unknown): AccessToken | undefined {
  if (!isTokenResponse(wire)) return undefined;
  const expiresAt = wire.expiresAt === null ? null : new Date(wire.expiresAt);
  if (expiresAt !== null && Number.isNaN(expiresAt.getTime())) return undefined;
  return Object.freeze({
    accessToken: wire.accessToken,
    tokenType: wire.tokenType,
    expiresAt,
    scopes: Object.freeze([...wire.scopes]),
    connectionId: wire.connectionId,
    providerAccountId: wire.providerAccountId,
    metadata: Object.freeze({ ...wire.metadata }),
  });
}

/** The broker's problem answer (RFC 9457) as the client's error. */
function problemError(response: Response, parsed: unknown): BrokerClientError {
  const problem = readProblem(parsed, response.headers);
  // Cloud Run's own 429/503 (before the function ran) carry no problem body: still worth a retry.
  const platformRetryable = response.status === 429 || response.status === 503;
  const code = problem.code ?? (platformRetryable ? 'provider_unavailable' : 'internal');
  return new BrokerClientError(code as BrokerClientError['code'], problem.message ?? `HTTP ${response.status}`, {
    status: response.status,
    retryable: problem.retryable || platformRetryable,
    ...(problem.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: problem.retryAfterSeconds }),
    ...(problem.details === undefined ? {} : { details: problem.details }),
  });
}

/** The request as the broker sees it, in a stable order: the cache key. */
function canonicalRequest(request: TokenRequest): Record<string, unknown> {
  return {
    tenantId: request.tenantId,
    ...(request.userId === undefined ? {} : { userId: request.userId }),
    provider: request.provider,
    ...(request.accountId === undefined ? {} : { accountId: request.accountId }),
    ...(request.minValiditySeconds === undefined ? {} : { minValiditySeconds: request.minValiditySeconds }),
    ...(request.requiredScopes === undefined ? {} : { requiredScopes: [...new Set(request.requiredScopes)].sort() }),
  };
}

function requireRequest(request: TokenRequest): void {
  if (typeof request !== 'object' || request === null) throw new TypeError('getToken needs a request object');
  for (const field of ['tenantId', 'provider'] as const) {
    if (typeof request[field] !== 'string' || request[field] === '') throw new TypeError(`getToken: ${field} must be a non-empty string`);
  }
}

export function createBrokerClient(options: BrokerClientOptions): BrokerClient {
  if (!URL.canParse(options.tokenUrl)) throw new TypeError('tokenUrl must be an absolute URL');
  const tokenUrl = options.tokenUrl;
  const audience = options.audience ?? tokenUrl;
  const auth = options.auth ?? new GoogleAuth();
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const maxAttempts = options.maxAttempts ?? 4;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
  const skewMs = (options.expirySkewSeconds ?? 60) * 1000;
  const maxCacheMs = (options.maxCacheSeconds ?? 300) * 1000;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new TypeError('maxAttempts must be a positive integer');
  const cache = new TokenCache<AccessToken>(options.maxCacheEntries ?? 1000);

  const proxyUrl = options.proxyUrl?.replace(/\/$/, '');
  if (proxyUrl !== undefined && !URL.canParse(proxyUrl)) throw new TypeError('proxyUrl must be an absolute URL');

  // One ID-token client per audience; google-auth-library caches and renews the ID token itself.
  const idTokenSources = new Map<string, Promise<IdTokenSource>>();
  const idTokenHeader = async (forAudience: string = audience, url: string = tokenUrl): Promise<string> => {
    let source = idTokenSources.get(forAudience);
    if (source === undefined) {
      source = auth.getIdTokenClient(forAudience).catch((error: unknown) => {
        idTokenSources.delete(forAudience); // a failed creation is not cached
        throw error;
      });
      idTokenSources.set(forAudience, source);
    }
    try {
      const headers = await (await source).getRequestHeaders(url);
      const value = headers instanceof Headers ? headers.get('authorization') : (headers.Authorization ?? headers.authorization);
      if (!value) throw new Error('google-auth-library returned no Authorization header');
      return value;
    } catch (error) {
      throw new BrokerClientError('identity_token_failed', 'Could not obtain a Google ID token for the broker', { cause: error });
    }
  };

  async function attempt(body: string): Promise<AccessToken> {
    const authorization = await idTokenHeader();
    let response: Response;
    try {
      response = await fetchImpl(tokenUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, application/problem+json',
          authorization,
          'x-serverless-authorization': authorization,
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new BrokerClientError('broker_unreachable', 'The broker could not be reached', { retryable: true, cause: error });
    }
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch (error) {
      parsed = undefined;
      if (response.ok) throw new BrokerClientError('invalid_response', 'The broker answered with something that is not JSON', { status: response.status, cause: error });
    }
    if (response.ok) {
      const token = parseToken(parsed);
      if (token === undefined) throw new BrokerClientError('invalid_response', 'The broker answered with an unexpected shape', { status: response.status });
      return token;
    }
    throw problemError(response, parsed);
  }

  async function proxied(provider: string, path: string, init: RequestInit | undefined, connection: ConnectionName): Promise<Response> {
    if (proxyUrl === undefined) throw new TypeError('fetch needs the proxy function\'s URL: set proxyUrl');
    if (!/^[a-z][a-z0-9_]{1,39}$/.test(provider)) throw new TypeError('fetch: provider must be a provider id');
    if (!path.startsWith('/')) throw new TypeError('fetch: path must start with /');
    if (typeof connection?.tenantId !== 'string' || connection.tenantId === '') throw new TypeError('fetch: connection.tenantId must be a non-empty string');
    const headers = new Headers(init?.headers);
    // The broker attaches the provider token itself; a credential here would only be dropped.
    if (headers.has('authorization')) throw new TypeError('fetch: do not send Authorization: the broker attaches the provider token');
    const url = `${proxyUrl}/${provider}${path}`;
    const authorization = await idTokenHeader(options.proxyAudience ?? proxyUrl, url);
    headers.set('authorization', authorization);
    headers.set('x-serverless-authorization', authorization);
    headers.set(connectionHeaderNames.tenantId, connection.tenantId);
    if (connection.userId !== undefined) headers.set(connectionHeaderNames.userId, connection.userId);
    if (connection.accountId !== undefined) headers.set(connectionHeaderNames.accountId, connection.accountId);
    let response: Response;
    try {
      response = await fetchImpl(url, { ...init, headers, redirect: 'manual' });
    } catch (error) {
      throw new BrokerClientError('broker_unreachable', 'The broker could not be reached', { retryable: true, cause: error });
    }
    if (response.headers.get(brokerErrorHeader) === null) return response;
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch {
      parsed = undefined;
    }
    throw problemError(response, parsed);
  }

  async function withRetries(body: string): Promise<AccessToken> {
    for (let attemptNumber = 1; ; attemptNumber += 1) {
      try {
        return await attempt(body);
      } catch (error) {
        if (!(error instanceof BrokerClientError) || !error.retryable || attemptNumber >= maxAttempts) throw error;
        const backoffMs = Math.round(200 * 2 ** (attemptNumber - 1) * (0.5 + Math.random() / 2));
        const waitMs = error.retryAfterSeconds === undefined ? backoffMs : error.retryAfterSeconds * 1000;
        if (waitMs > maxRetryDelayMs) throw error; // the broker asked for longer than this caller waits
        await sleep(waitMs);
      }
    }
  }

  return {
    getToken(request) {
      requireRequest(request);
      const canonical = canonicalRequest(request);
      const key = JSON.stringify(canonical);
      const marginMs = Math.max(skewMs, (request.minValiditySeconds ?? 0) * 1000);
      return cache.get(key, now, async () => {
        const token = await withRetries(key);
        const useUntilMs = token.expiresAt === null ? now() + maxCacheMs : token.expiresAt.getTime() - marginMs;
        return { value: token, useUntilMs };
      });
    },
    fetch: proxied,
    clearCache: () => cache.clear(),
  };
}
