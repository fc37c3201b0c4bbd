// The cheapest call proving a grant still works: Slack auth.test through @slack/web-api, Gmail users.getProfile through
// @googleapis/gmail, and the provider definition's identity call for everyone else.
//
// The two client libraries are loaded only in the branch that uses them (cold start: the other sweeps and functions
// never pay for them). Every failure comes back in the broker's taxonomy: `needs_reauth` when the provider rejects the
// grant, `provider_unavailable` for 429, 5xx and network trouble, `provider_error` for anything else.
import { BrokerError } from '../../errors/broker-error.js';
import { fetchIdentity } from '../../oauth/identity.js';
import type { OAuthRuntime } from '../../oauth/oauth-runtime.js';
import { routeProviderUrl } from '../../oauth/origin-overrides.js';
import { safeProviderErrorCode } from '../../oauth/provider-failure.js';
import { DEFAULT_PROVIDER_TIMEOUT_MS } from '../../oauth/provider-http.js';
import type { ClientCredentials } from '../../oauth/token-set.js';
import { parseConnectionConfig } from '../../providers/connection-config.js';
import type { ProviderDefinition } from '../../providers/definition-schema.js';
import type { ConnectionDocument } from '../../store/connection-document.js';

export interface ProbeInput {
  readonly provider: ProviderDefinition;
  readonly document: ConnectionDocument;
  readonly accessToken: string;
  readonly client: ClientCredentials | undefined;
}

/** Which call proved (or disproved) the grant, for logs and the health record. */
export type ProbeKind = 'slack_auth_test' | 'gmail_get_profile' | 'identity';

type Probe = (oauth: OAuthRuntime, input: ProbeInput) => Promise<void>;

// Scopes that allow users.getProfile (gmail.send alone does not).
const gmailProfileScopes = new Set([
  'https://mail.google.com/',
  'https://www.googleapis.com/auth/gmail.modify',
  'https://www.googleapis.com/auth/gmail.compose',
  'https://www.googleapis.com/auth/gmail.readonly',
  'https://www.googleapis.com/auth/gmail.metadata',
]);

function deadGrantErrors(provider: ProviderDefinition): readonly string[] {
  return provider.refresh.supported ? provider.refresh.deadGrantErrors : ['invalid_auth', 'token_revoked', 'account_inactive', 'invalid_token'];
}

function unavailable(provider: string, httpStatus: number | null, retryAfterSeconds: number | undefined, cause: unknown): BrokerError {
  return new BrokerError('provider_unavailable', 'The provider failed the identity call; retry later', {
    cause,
    details: { provider, httpStatus, operation: 'identity' },
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}

function rejected(provider: string, httpStatus: number | null, providerError: string | null, cause: unknown): BrokerError {
  return new BrokerError('needs_reauth', 'The provider no longer accepts this grant; the user must reconnect', {
    cause,
    details: { provider, httpStatus, operation: 'identity', providerError },
  });
}

function refused(provider: string, httpStatus: number | null, providerError: string | null, cause: unknown): BrokerError {
  return new BrokerError('provider_error', 'The provider rejected the identity call', {
    cause,
    details: { provider, httpStatus, operation: 'identity', providerError },
  });
}

async function slackAuthTest(oauth: OAuthRuntime, input: ProbeInput): Promise<void> {
  const { WebClient, LogLevel } = await import('@slack/web-api');
  const slackApiUrl = routeProviderUrl('https://slack.com/api/', oauth.http.overrides).href;
  const client = new WebClient(input.accessToken, {
    slackApiUrl,
    logLevel: LogLevel.ERROR,
    // The sweep has its own pacing: one attempt, and a rate limit is reported, not waited out.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: DEFAULT_PROVIDER_TIMEOUT_MS,
  });
  try {
    await client.auth.test();
  } catch (error) {
    const failure = error as { code?: string; data?: { error?: unknown }; retryAfter?: number; statusCode?: number };
    const provider = input.provider.id;
    if (failure.code === 'slack_webapi_platform_error') {
      const stated = safeProviderErrorCode(failure.data?.error) ?? null;
      if (stated !== null && deadGrantErrors(input.provider).includes(stated)) throw rejected(provider, 200, stated, error);
      throw refused(provider, 200, stated, error);
    }
    if (failure.code === 'slack_webapi_rate_limited_error') throw unavailable(provider, 429, failure.retryAfter, error);
    if (failure.code === 'slack_webapi_http_error' && typeof failure.statusCode === 'number') {
      if (failure.statusCode === 401) throw rejected(provider, 401, null, error);
      if (failure.statusCode >= 500) throw unavailable(provider, failure.statusCode, undefined, error);
      throw refused(provider, failure.statusCode, null, error);
    }
    throw unavailable(provider, null, undefined, error);
  }
}

async function gmailGetProfile(oauth: OAuthRuntime, input: ProbeInput): Promise<void> {
  const { gmail } = await import('@googleapis/gmail');
  const rootUrl = routeProviderUrl('https://gmail.googleapis.com/', oauth.http.overrides).href;
  const client = gmail({ version: 'v1' });
  try {
    // rootUrl per call, not per client: a client-wide rootUrl keeps only its origin and would drop the sandbox's path.
    // No auth client: the token goes in the header, so the library never looks for Application Default Credentials.
    await client.users.getProfile(
      { userId: 'me' },
      { rootUrl, headers: { authorization: `Bearer ${input.accessToken}` }, retry: false, timeout: DEFAULT_PROVIDER_TIMEOUT_MS },
    );
  } catch (error) {
    const failure = error as { status?: number; response?: { status?: number; headers?: unknown } };
    const status = failure.status ?? failure.response?.status;
    const provider = input.provider.id;
    if (status === 401) throw rejected(provider, 401, 'UNAUTHENTICATED', error);
    if (status === 429 || (status !== undefined && status >= 500)) throw unavailable(provider, status, retryAfterOf(failure.response?.headers), error);
    if (status !== undefined) throw refused(provider, status, null, error);
    throw unavailable(provider, null, undefined, error);
  }
}

function retryAfterOf(headers: unknown): number | undefined {
  const value = headers instanceof Headers ? headers.get('retry-after') : (headers as Record<string, unknown> | undefined)?.['retry-after'];
  return typeof value === 'string' && /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

async function definitionIdentity(oauth: OAuthRuntime, input: ProbeInput): Promise<void> {
  await fetchIdentity(oauth, input.provider, {
    accessToken: input.accessToken,
    connectionConfig: parseConnectionConfig(input.provider, input.document.connectionConfig),
    metadata: input.document.metadata,
    ...(input.client ? { client: input.client } : {}),
  });
}

/** Providers whose health is checked through their own client library; the condition says when it applies. */
const libraryProbes: Readonly<Record<string, { readonly kind: ProbeKind; readonly applies: (document: ConnectionDocument) => boolean; readonly probe: Probe }>> = {
  slack: { kind: 'slack_auth_test', applies: () => true, probe: slackAuthTest },
  google: { kind: 'gmail_get_profile', applies: (document) => document.scopes.some((scope) => gmailProfileScopes.has(scope)), probe: gmailGetProfile },
};

export function probeKindFor(provider: ProviderDefinition, document: ConnectionDocument): ProbeKind {
  const library = libraryProbes[provider.id];
  return library !== undefined && library.applies(document) ? library.kind : 'identity';
}

/** Calls the provider as `input`'s connection; resolves when the grant works, throws a BrokerError when it does not. */
export async function probeIdentity(oauth: OAuthRuntime, input: ProbeInput): Promise<ProbeKind> {
  const library = libraryProbes[input.provider.id];
  if (library !== undefined && library.applies(input.document)) {
    await library.probe(oauth, input);
    return library.kind;
  }
  await definitionIdentity(oauth, input);
  return 'identity';
}
