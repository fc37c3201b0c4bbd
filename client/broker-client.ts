// A typed client for the broker's `token` function, for the internal services that call it.
//
// It authenticates the way the broker expects (DESIGN.md "Caller identity"): a Google ID token for the
// function's audience from google-auth-library (the metadata server on Cloud Run, a service-account key or
// impersonation elsewhere), sent in `X-Serverless-Authorization` for Cloud Run IAM and in `Authorization`
// for the function's own verification. It retries only what the broker calls retryable (and unreachable
// brokers), caches access tokens until shortly before they expire, and shares in-flight requests.
import { GoogleAuth } from 'google-auth-library';
import { BrokerClientError } from './broker-client-error.js';
import { TokenCache } from './token-cache.js';

export interface TokenRequest {
  readonly tenantId: string;
  /** Omit for the tenant-level connection (client credentials, tenant-wide API key). */
  readonly userId?: string;
  readonly provider: string;
  /** Which provider account, when the user connected several (the broker answers ambiguous_account otherwise). */
  readonly accountId?: string;
  /** The token must stay valid this long; the broker's default (60 s) when absent. */
  readonly minValiditySeconds?: number;
  readonly requiredScopes?: readonly string[];
}

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
  /** Forgets cached tokens, e.g. after the provider rejected one. */
  clearCache(): void;
}

interface WireToken {
  accessToken: string;
  tokenType: string;
  expiresAt: string | null;
  scopes: string[];
  connectionId: string;
  providerAccountId: string;
  metadata: Record<string, string>;
}

interface IdTokenSource {
  getRequestHeaders(url?: string): Promise<Headers | Record<string, string>>;
}

const isString = (value: unknown): value is string => typeof value === 'string';

function parseToken(body: unknown): AccessToken | undefined {
  const wire = body as Partial<WireToken> | null;
  if (
    wire === null ||
    typeof wire !== 'object' ||
    !isString(wire.accessToken) ||
    !isString(wire.tokenType) ||
    !(wire.expiresAt === null || isString(wire.expiresAt)) ||
    !Array.isArray(wire.scopes) ||
    !wire.scopes.every(isString) ||
    !isString(wire.connectionId) ||
    !isString(wire.providerAccountId) ||
    typeof wire.metadata !== 'object' ||
    wire.metadata === null
  ) {
    return undefined;
  }
  const expiresAt = wire.expiresAt === null ? null : new Date(wire.expiresAt);
  if (expiresAt !== null && Number.isNaN(expiresAt.getTime())) return undefined;
  return Object.freeze({
    accessToken: wire.accessToken,
    tokenType: wire.tokenType,
    expiresAt,
    scopes: Object.freeze([...wire.scopes]),
    connectionId: wire.connectionId,
    providerAccountId: wire.providerAccountId,
    metadata: Object.freeze({ ...(wire.metadata as Record<string, string>) }),
  });
}

function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null || !/^\d{1,9}$/.test(header.trim())) return undefined;
  return Number(header.trim());
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

  // One ID-token client per audience; google-auth-library caches and renews the ID token itself.
  let idTokenSource: Promise<IdTokenSource> | undefined;
  const idTokenHeader = async (): Promise<string> => {
    idTokenSource ??= auth.getIdTokenClient(audience).catch((error: unknown) => {
      idTokenSource = undefined; // a failed creation is not cached
      throw error;
    });
    try {
      const headers = await (await idTokenSource).getRequestHeaders(tokenUrl);
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
    const retryAfter = retryAfterSeconds(response.headers.get('retry-after'));
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
    const problem = (parsed ?? {}) as { code?: unknown; detail?: unknown; title?: unknown; details?: unknown; retryable?: unknown };
    // Cloud Run's own 429/503 (before the function ran) carry no problem body: still worth a retry.
    const platformRetryable = response.status === 429 || response.status === 503;
    const code = typeof problem.code === 'string' ? problem.code : platformRetryable ? 'provider_unavailable' : 'internal';
    const message = typeof problem.detail === 'string' ? problem.detail : typeof problem.title === 'string' ? problem.title : `HTTP ${response.status}`;
    throw new BrokerClientError(code as BrokerClientError['code'], message, {
      status: response.status,
      retryable: problem.retryable === true || platformRetryable,
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
      ...(typeof problem.details === 'object' && problem.details !== null ? { details: problem.details as Record<string, unknown> } : {}),
    });
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
    clearCache: () => cache.clear(),
  };
}
