// What the fuzzer sends to each function: plausible requests that reach validation and the use cases, mutated every way.
// A function without its own entry here (one added to functions/names.ts later) gets the generic generator.
import fc from 'fast-check';
import type { SeededConnection } from './fuzz-stack.js';
import { fuzzIdentities } from './fuzz-stack.js';
import {
  authVariant,
  contentType,
  cookieHeader,
  encodeSegment,
  extraHeaders,
  iapVariant,
  jsonBodyText,
  markedSecret,
  methodOf,
  nastyNumber,
  nastyString,
  pathOf,
  queryString,
  shapedObject,
  withinUrlBudget,
} from './fuzz-inputs.js';
import type { AuthVariant, FuzzRequest, IapVariant, LiveFlowPlan } from './fuzz-request.js';

export interface FuzzTargets {
  readonly providerIds: readonly string[];
  readonly connections: readonly SeededConnection[];
  readonly returnUrls: readonly string[];
}

interface RequestParts {
  readonly method: string;
  readonly path: string;
  readonly body: string | Uint8Array | undefined;
  readonly contentType: string | undefined;
  readonly auth: AuthVariant;
  readonly iap?: IapVariant;
  readonly cookie?: string | undefined;
  readonly extra: Record<string, string>;
  readonly liveFlow?: LiveFlowPlan;
}

function toRequest(functionName: string, parts: RequestParts): FuzzRequest {
  const headers: Record<string, string> = { ...parts.extra };
  if (parts.contentType !== undefined && parts.body !== undefined) headers['content-type'] = parts.contentType;
  if (parts.cookie !== undefined) headers.cookie = parts.cookie;
  return {
    functionName,
    method: parts.method,
    path: parts.path,
    headers,
    auth: parts.auth,
    iap: parts.iap ?? { kind: 'none' },
    // A body on HEAD desynchronises node's client and server (the answer is node's own 400), and says nothing of ours.
    body: parts.method === 'HEAD' ? undefined : parts.body,
    ...(parts.liveFlow ? { liveFlow: parts.liveFlow } : {}),
  };
}

const tenant = fc.oneof({ weight: 5, arbitrary: fc.constant<string>(fuzzIdentities.tenant) }, { weight: 1, arbitrary: fc.constant<string>(fuzzIdentities.otherTenant) }, { weight: 1, arbitrary: nastyString });
const userId = fc.oneof(fc.constantFrom('user-0', 'user-1', 'user-2', 'user-3', 'user-new'), nastyString);

function providerId(targets: FuzzTargets): fc.Arbitrary<string> {
  return fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...targets.providerIds) }, { weight: 1, arbitrary: fc.constantFrom('Slack', 'slack ', 'nope', 'a', 'x'.repeat(41)) }, { weight: 1, arbitrary: nastyString });
}

function connectionId(targets: FuzzTargets): fc.Arbitrary<string> {
  const seeded = targets.connections.map((connection) => connection.connectionId);
  return fc.oneof(
    { weight: 3, arbitrary: seeded.length > 0 ? fc.constantFrom(...seeded) : fc.constant(`conn_${'a'.repeat(30)}`) },
    { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 30, maxLength: 30 }).map((hex) => `conn_${hex}`) },
    { weight: 1, arbitrary: nastyString },
  );
}

const scopeList = fc.oneof(fc.array(fc.constantFrom('chat:write', 'channels:history', 'openid', 'email', 'https://www.googleapis.com/auth/gmail.readonly', 'offline_access', 'unknown:scope'), { maxLength: 4 }), fc.array(nastyString, { maxLength: 3 }));

function returnUrl(targets: FuzzTargets): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...targets.returnUrls) },
    { weight: 2, arbitrary: fc.constantFrom(...targets.returnUrls.flatMap((url) => [`${url}?next=/x`, `${url}#frag`, `${url}/`, url.toUpperCase(), url.replace('https:', 'http:')])) },
    { weight: 2, arbitrary: fc.constantFrom('https://evil.test/', '//evil.test', 'javascript:alert(1)', 'data:text/html,x', 'https://app.fuzz.test@evil.test/settings/connected', 'https://app.fuzz.test.evil.test/settings/connected', '/relative') },
    { weight: 1, arbitrary: nastyString },
  );
}

const connectionConfig = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom({ loginHost: 'login.salesforce.com' }, { tenant: 'common' }, { tenant: '../../x' }, { fhirBaseUrl: 'https://fhir.example.test/r4' }, { loginHost: 'evil.test' }) },
  { weight: 1, arbitrary: fc.dictionary(nastyString, nastyString, { maxKeys: 3 }) },
);

function jsonPost(functionName: string, paths: readonly string[], body: fc.Arbitrary<Record<string, unknown>>, auth: fc.Arbitrary<AuthVariant>): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({ method: methodOf(['POST']), path: pathOf(paths), query: queryString({}), body: jsonBodyText(body), contentType, auth, extra: extraHeaders })
    .map((parts) => toRequest(functionName, { ...parts, path: `${parts.path}${parts.query}` }));
}

function authorizeRequests(targets: FuzzTargets): fc.Arbitrary<FuzzRequest> {
  const body = shapedObject({ tenantId: tenant, userId, provider: providerId(targets), scopes: scopeList, returnUrl: returnUrl(targets), connectionConfig });
  return jsonPost('authorize', ['/'], body, authVariant(['caller']));
}

function tokenRequests(targets: FuzzTargets): fc.Arbitrary<FuzzRequest> {
  const seeded = targets.connections;
  const fields = shapedObject({
    tenantId: tenant,
    userId: fc.oneof(userId, fc.constant(null)),
    provider: providerId(targets),
    accountId: fc.oneof(seeded.length > 0 ? fc.constantFrom(...seeded.map((connection) => connection.providerAccountId)) : nastyString, nastyString),
    minValiditySeconds: nastyNumber,
    requiredScopes: scopeList,
  });
  // A valid read of a seeded connection now and then: the fuzzer must also see the 200 path.
  const exact = seeded.length === 0
    ? fields
    : fc.constantFrom(...seeded).map((connection) => ({ tenantId: fuzzIdentities.tenant, userId: connection.userId, provider: connection.provider }) as Record<string, unknown>);
  return jsonPost('token', ['/'], fc.oneof({ weight: 5, arbitrary: fields }, { weight: 1, arbitrary: exact }), authVariant(['caller']));
}

function connectionsRequests(targets: FuzzTargets): fc.Arbitrary<FuzzRequest> {
  const auth = authVariant(['caller']);
  const list = fc
    .record({
      method: methodOf(['GET']),
      path: pathOf(['/']),
      query: queryString({ tenantId: tenant, userId, provider: providerId(targets) }),
      auth,
      extra: extraHeaders,
    })
    .map((parts) => toRequest('connections', { ...parts, path: `${parts.path}${parts.query}`, body: undefined, contentType: undefined }));
  const disconnect = jsonPost('connections', ['/disconnect'], shapedObject({ tenantId: tenant, connectionId: connectionId(targets) }), auth);
  const clientCredentials = jsonPost('connections', ['/client-credentials'], shapedObject({ tenantId: tenant, provider: providerId(targets), scopes: scopeList, connectionConfig }), auth);
  const apiKey = jsonPost(
    'connections',
    ['/api-key'],
    shapedObject({ tenantId: tenant, userId: fc.oneof(userId, fc.constant(null)), provider: fc.oneof(fc.constantFrom('trello', 'asana', 'hubspot'), providerId(targets)), apiKey: markedSecret, connectionConfig }),
    auth,
  );
  // Flow ids of the right shape that name no parked grant, and anything else: both must be refused with a stable code.
  const flowId = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), nastyString);
  const confirm = jsonPost('connections', ['/confirm'], shapedObject({ tenantId: tenant, flowId, userId }), auth);
  return fc.oneof(
    { weight: 3, arbitrary: list },
    { weight: 1, arbitrary: disconnect },
    { weight: 2, arbitrary: clientCredentials },
    { weight: 2, arbitrary: apiKey },
    { weight: 1, arbitrary: confirm },
  );
}

/** Parameters a provider (or an attacker) may put on the redirect URI. */
const callbackParam = fc.tuple(
  fc.constantFrom('state', 'code', 'iss', 'error', 'error_description', 'error_uri', 'oauth_token', 'oauth_verifier', 'scope', 'session_state', '__proto__', 'sandbox_decision'),
  fc.oneof(markedSecret, nastyString, fc.constantFrom('access_denied', 'invalid_scope', 'server_error', 'temporarily_unavailable', 'consent_required', 'login_required', 'https://evil.test', 'https://slack.com')),
);

function callbackRequests(targets: FuzzTargets): fc.Arbitrary<FuzzRequest> {
  const startStep = fc
    .record({
      method: methodOf(['GET']),
      query: fc.oneof(
        markedSecret.map((flow) => `?flow=${flow}`),
        queryString({ flow: fc.oneof(markedSecret, nastyString) }),
        fc.constantFrom('', '?flow=', '?flow=a&flow=b', '?flow=%', '?flow=%00'),
      ),
      cookie: cookieHeader,
      extra: extraHeaders,
    })
    .map((parts) => toRequest('callback', { ...parts, path: `/start${parts.query}`, body: undefined, contentType: undefined, auth: { kind: 'none' } }));
  const redirectUri = fc
    .record({
      method: methodOf(['GET']),
      path: pathOf(['/', '/', '/', '/start', '/callback']),
      params: fc.array(callbackParam, { maxLength: 7 }),
      tail: queryString({}),
      cookie: cookieHeader,
      extra: extraHeaders,
      auth: authVariant([]),
      body: jsonBodyText(shapedObject({ state: markedSecret })),
      contentType,
    })
    .map((parts) => {
      const search = new URLSearchParams(parts.params.map(([name, value]) => [name, value.slice(0, 800)] as [string, string])).toString();
      const query = withinUrlBudget(`${search}${parts.tail.replace(/^\?/, '&')}`.replace(/^&/, ''));
      return toRequest('callback', { ...parts, path: `${parts.path}${query}` });
    });
  // Providers the sandbox plays through a plain browser consent, OAuth 1.0a (trello) included.
  const liveProviders = ['slack', 'google', 'zoom', 'notion', 'github_oauth_app', 'trello'].filter((id) => targets.providerIds.includes(id));
  const liveFlow = fc
    .record({
      provider: fc.constantFrom(...(liveProviders.length > 0 ? liveProviders : targets.providerIds)),
      decision: fc.constantFrom('approve' as const, 'approve' as const, 'approve' as const, 'deny' as const, 'skip-consent' as const),
      cookie: fc.constantFrom('matching' as const, 'matching' as const, 'matching' as const, 'none' as const, 'foreign' as const, 'duplicated' as const),
      state: fc.constantFrom('real' as const, 'real' as const, 'real' as const, 'tampered' as const, 'missing' as const),
      code: fc.constantFrom('real' as const, 'real' as const, 'real' as const, 'random' as const, 'missing' as const),
      iss: fc.constantFrom('as-sent' as const, 'as-sent' as const, 'missing' as const, 'wrong' as const),
      extraParams: fc.oneof({ weight: 3, arbitrary: fc.constant([] as (readonly [string, string])[]) }, { weight: 1, arbitrary: fc.array(callbackParam, { maxLength: 3 }) }),
      replay: fc.boolean(),
      extra: extraHeaders,
    })
    .map(({ extra, ...plan }) => toRequest('callback', { method: 'GET', path: '/', body: undefined, contentType: undefined, auth: { kind: 'none' }, extra, liveFlow: plan }));
  return fc.oneof({ weight: 2, arbitrary: startStep }, { weight: 4, arbitrary: redirectUri }, { weight: 1, arbitrary: liveFlow });
}

function adminRequests(targets: FuzzTargets): fc.Arbitrary<FuzzRequest> {
  const connection = connectionId(targets).map((id) => encodeSegment(id.slice(0, 800)));
  const jobId = fc.oneof(fc.uuid().map((uuid) => `rewrap_${uuid}`), nastyString.map((value) => encodeSegment(value.slice(0, 800))), fc.constantFrom('%', '%zz', '%E0%A4%A'));
  const path = fc.oneof(
    fc.constantFrom('/', '/api/stats', '/api/connections', '/api/health-check', '/api/refresh', '/api/rewrap', '/api/openapi.json', '/api', '/api/'),
    connection.chain((id) => fc.constantFrom(`/api/connections/${id}`, `/api/connections/${id}/health-check`, `/api/connections/${id}/refresh`, `/api/connections/${id}/revoke`)),
    fc.constantFrom('%', '%zz', '%E0%A4%A', '%2F..').map((junk) => `/api/connections/${junk}`),
    jobId.map((id) => `/api/rewrap/${id}`),
    pathOf(['/api/stats']),
  );
  // Both ways in: IAP's signed header (the dashboard) or an ID token (IAM), each valid for the operator most of the time.
  const credentials = fc.oneof(
    fc.record({ iap: iapVariant, auth: fc.constant<AuthVariant>({ kind: 'none' }) }),
    fc.record({ iap: fc.constant<IapVariant>({ kind: 'none' }), auth: authVariant(['operator']) }),
  );
  return fc
    .record({
      method: methodOf(['GET', 'POST']),
      path,
      query: queryString({ tenantId: tenant, userId, provider: providerId(targets), status: fc.constantFrom('active', 'revoked', 'needs_reauth', 'x'), health: fc.constantFrom('healthy', 'unknown', 'x'), limit: nastyNumber.map(String), cursor: nastyString }),
      body: jsonBodyText(shapedObject({ keyVersion: nastyString, dryRun: fc.boolean() })),
      contentType,
      credentials,
      site: fc.constantFrom(undefined, undefined, 'same-origin', 'cross-site', 'same-site', 'none'),
      extra: extraHeaders,
    })
    .map(({ credentials: { iap, auth }, site, ...parts }) =>
      toRequest('admin', { ...parts, auth, iap, path: `${parts.path}${parts.query}`, extra: site === undefined ? parts.extra : { ...parts.extra, 'sec-fetch-site': site } }),
    );
}

function sweepRequests(functionName: string): fc.Arbitrary<FuzzRequest> {
  // The sweep ignores its body, so a valid call teaches little beyond "it runs": fewer of them, more broken credentials.
  return jsonPost(functionName, ['/'], shapedObject({ force: fc.boolean(), provider: nastyString }), authVariant(['scheduler'], 3));
}

/** For a function the fuzzer has no specific knowledge of: every credential it might accept, any shape of request. */
function genericRequests(functionName: string): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method: methodOf(['GET', 'POST']),
      path: pathOf(['/', '/api']),
      query: queryString({}),
      body: jsonBodyText(shapedObject({ tenantId: tenant, provider: nastyString })),
      contentType,
      auth: authVariant(['caller', 'scheduler', 'operator']),
      iap: iapVariant,
      cookie: cookieHeader,
      extra: extraHeaders,
    })
    .map((parts) => toRequest(functionName, { ...parts, path: `${parts.path}${parts.query}` }));
}

export function requestsFor(functionName: string, targets: FuzzTargets): fc.Arbitrary<FuzzRequest> {
  switch (functionName) {
    case 'authorize':
      return authorizeRequests(targets);
    case 'token':
      return tokenRequests(targets);
    case 'connections':
      return connectionsRequests(targets);
    case 'callback':
      return callbackRequests(targets);
    case 'admin':
      return adminRequests(targets);
    case 'refresh':
    case 'health':
      return sweepRequests(functionName);
    default:
      return genericRequests(functionName);
  }
}
