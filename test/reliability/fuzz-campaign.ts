// Runs a seeded fuzz campaign over HTTP against every served function and tallies answers by function and status class.
import fc from 'fast-check';
import { type FuzzTargets, requestsFor } from './fuzz-functions.js';
import { findViolations, type OracleContext } from './fuzz-oracle.js';
import { type AuthVariant, createSender, describeRequest, type FuzzRequest, type FuzzResponse, type IapVariant, type LiveFlowPlan, type Principal, type Sender, SECRET_MARKER } from './fuzz-request.js';
import { FUZZ_IAP_AUDIENCE, type FuzzStack, fuzzIdentities } from './fuzz-stack.js';

export const statusClasses = ['2xx', '3xx', '4xx', '5xx', 'no answer'] as const;
export type StatusClass = (typeof statusClasses)[number];

export interface FunctionTally {
  readonly functionName: string;
  requests: number;
  readonly byClass: Record<StatusClass, number>;
  readonly byStatus: Map<number, number>;
  /** Callback requests made on a real connect flow, and the authorize/start requests that set them up (checked too). */
  liveFlows: number;
  setupRequests: number;
  elapsedMs: number;
}

export interface Violation {
  readonly functionName: string;
  /** Reproduces the request: the seed, the batch and the index within it. */
  readonly where: string;
  readonly problems: readonly string[];
  readonly request: string;
  readonly status: number | undefined;
}

export interface FuzzReport {
  readonly seed: number;
  readonly tallies: readonly FunctionTally[];
  readonly violations: readonly Violation[];
  readonly violationCount: number;
  /** Violations grouped by function and rule (numbers elided), with how often each happened. */
  readonly violationKinds: ReadonlyMap<string, number>;
  /** Unhandled rejections and uncaught exceptions seen while the campaign ran. */
  readonly crashes: readonly string[];
  readonly skipped: readonly string[];
}

export interface FuzzCampaignOptions {
  readonly requestsPerFunction: number;
  readonly seed: number;
  readonly concurrency?: number;
  /** Requests generated at a time: bounds memory (some bodies are megabytes). */
  readonly batchSize?: number;
  readonly log?: (line: string) => void;
}

const emails: Record<Principal, string> = {
  caller: fuzzIdentities.caller,
  stranger: fuzzIdentities.stranger,
  scheduler: fuzzIdentities.scheduler,
  operator: fuzzIdentities.operator,
};

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function idToken(stack: FuzzStack, functionName: string, variant: Extract<AuthVariant, { kind: 'id-token' }>): Promise<string> {
  const sibling = stack.functions.find((name) => name !== functionName) ?? 'token';
  const audience = variant.audience === 'self' ? stack.audienceOf(functionName) : variant.audience === 'sibling' ? stack.audienceOf(sibling) : 'https://foreign.example.test/fn';
  const nowMs = Date.now();
  const issuedAt = variant.expiry === 'expired' ? new Date(nowMs - 7_200_000) : variant.expiry === 'issued-in-future' ? new Date(nowMs + 7_200_000) : undefined;
  const token = await stack.idTokens.mint({ email: emails[variant.principal], audience, ...(issuedAt ? { issuedAt } : {}) });
  const [header = '', payload = '', signature = ''] = token.split('.');
  switch (variant.tamper) {
    case 'none':
      return token;
    case 'signature-removed':
      // What Cloud Run leaves of a token it checked for IAM.
      return `${header}.${payload}.SIGNATURE_REMOVED_BY_GOOGLE`;
    case 'signature-flipped':
      return `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    case 'alg-none':
      return `${base64url({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    case 'payload-swapped': {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      return `${header}.${base64url({ ...claims, email: fuzzIdentities.operator, aud: stack.audienceOf(functionName) })}.${signature}`;
    }
  }
}

async function credentialHeaders(stack: FuzzStack, request: FuzzRequest): Promise<{ headers: Record<string, string | string[]>; presented: string[] }> {
  const headers: Record<string, string | string[]> = {};
  const presented: string[] = [];
  const auth: AuthVariant = request.auth;
  if (auth.kind === 'raw') headers[auth.header] = auth.value;
  if (auth.kind === 'duplicate-authorization') {
    const token = await stack.idTokens.mint({ email: fuzzIdentities.caller, audience: stack.audienceOf(request.functionName) });
    presented.push(token);
    headers.authorization = [`Bearer ${token}`, `Bearer ${SECRET_MARKER}0000`];
  }
  if (auth.kind === 'id-token') {
    const token = await idToken(stack, request.functionName, auth);
    presented.push(token);
    if (auth.placement !== 'serverless') headers.authorization = `Bearer ${token}`;
    if (auth.placement !== 'authorization') headers['x-serverless-authorization'] = `Bearer ${token}`;
  }
  const iap: IapVariant = request.iap;
  if (iap.kind === 'raw') headers['x-goog-iap-jwt-assertion'] = iap.value;
  if (iap.kind === 'assertion') {
    const assertion = await stack.iap.mint({
      email: emails[iap.principal],
      audience: iap.audience === 'self' ? FUZZ_IAP_AUDIENCE : '/projects/1/global/backendServices/1',
      forged: iap.forged,
      ...(iap.expired ? { issuedAt: new Date(Date.now() - 3_600_000) } : {}),
    });
    presented.push(assertion);
    headers['x-goog-iap-jwt-assertion'] = assertion;
  }
  return { headers, presented };
}

interface Exchange {
  readonly functionName: string;
  readonly request: FuzzRequest;
  readonly response: FuzzResponse | undefined;
  readonly presented: readonly string[];
  readonly error?: string;
}

function setCookiePairs(response: FuzzResponse): string[] {
  const values = response.headers['set-cookie'];
  const list = Array.isArray(values) ? values : values === undefined ? [] : [values];
  return list.map((value) => value.split(';')[0] ?? '').filter((pair) => pair.includes('='));
}

/** authorize → /start → (consent at the sandbox) → the callback request the plan describes. Every step's answer is checked. */
async function runLiveFlow(stack: FuzzStack, sender: Sender, base: FuzzRequest, plan: LiveFlowPlan, index: number, record: (exchange: Exchange) => void): Promise<FuzzRequest | undefined> {
  const token = await stack.idTokens.mint({ email: fuzzIdentities.caller, audience: stack.audienceOf('authorize') });
  const authorizeRequest: FuzzRequest = {
    functionName: 'authorize',
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/json' },
    auth: { kind: 'id-token', principal: 'caller', audience: 'self', expiry: 'valid', tamper: 'none', placement: 'both' },
    iap: { kind: 'none' },
    body: JSON.stringify({ tenantId: fuzzIdentities.tenant, userId: `live-${index % 50}`, provider: plan.provider, returnUrl: stack.returnUrls[0] }),
  };
  const authorized = await sender.send(stack.urlOf('authorize'), 'POST', { 'content-type': 'application/json', authorization: `Bearer ${token}` }, authorizeRequest.body);
  record({ functionName: 'authorize', request: authorizeRequest, response: authorized, presented: [token] });
  if (authorized.status !== 200) return undefined;
  const { connectUrl } = JSON.parse(authorized.body) as { connectUrl: string };
  const startPath = connectUrl.slice(stack.urlOf('callback').length);
  const started = await sender.send(connectUrl, 'GET', {}, undefined);
  record({ functionName: 'callback', request: { ...base, path: startPath, liveFlow: undefined } as FuzzRequest, response: started, presented: [] });
  const providerUrl = started.headers.location;
  if (started.status !== 302 || typeof providerUrl !== 'string') return undefined;
  const cookies = setCookiePairs(started);

  let params: URLSearchParams;
  if (plan.decision === 'skip-consent') {
    // As if the provider sent the browser straight back with only the state (or an attacker forged the return).
    params = new URLSearchParams();
    const state = new URL(providerUrl).searchParams.get('state');
    if (state !== null) params.set('state', state);
  } else {
    const consent = new URL(providerUrl);
    consent.searchParams.set('sandbox_decision', plan.decision);
    consent.searchParams.set('sandbox_account', `acct${index % 5}`);
    const answer = await sender.send(consent.href, 'GET', {}, undefined);
    const back = answer.headers.location;
    if (answer.status < 300 || answer.status >= 400 || typeof back !== 'string' || !URL.canParse(back)) return undefined;
    params = new URL(back).searchParams;
  }
  if (plan.state === 'missing') params.delete('state');
  const state = params.get('state');
  if (plan.state === 'tampered' && state !== null) params.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
  if (plan.code === 'missing') params.delete('code');
  if (plan.code === 'random' && params.has('code')) params.set('code', `${SECRET_MARKER}c0de`);
  if (plan.iss === 'missing') params.delete('iss');
  if (plan.iss === 'wrong') params.set('iss', 'https://evil.test');
  for (const [name, value] of plan.extraParams) params.set(name.slice(0, 100), value.slice(0, 800));

  const matching = cookies.join('; ');
  const cookie =
    plan.cookie === 'matching' ? matching
    : plan.cookie === 'duplicated' ? `${matching}; ${matching}`
    : plan.cookie === 'foreign' ? cookies.map((pair) => `${pair.split('=')[0] ?? ''}=${SECRET_MARKER}f0e1gn`).join('; ')
    : '';
  const search = params.toString();
  return { ...base, path: `/${search === '' ? '' : `?${search}`}`, headers: cookie === '' ? { ...base.headers } : { ...base.headers, cookie } };
}

async function exchange(stack: FuzzStack, sender: Sender, request: FuzzRequest): Promise<Exchange> {
  const { headers, presented } = await credentialHeaders(stack, request);
  try {
    const response = await sender.send(`${stack.urlOf(request.functionName)}${request.path}`, request.method, { ...request.headers, ...headers }, request.body);
    return { functionName: request.functionName, request, response, presented };
  } catch (error) {
    return { functionName: request.functionName, request, response: undefined, presented, error: error instanceof Error ? error.message : String(error) };
  }
}

function classOf(status: number | undefined): StatusClass {
  if (status === undefined) return 'no answer';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

function newTally(functionName: string): FunctionTally {
  return { functionName, requests: 0, byClass: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, 'no answer': 0 }, byStatus: new Map(), liveFlows: 0, setupRequests: 0, elapsedMs: 0 };
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

const MAX_KEPT_VIOLATIONS = 40;

export async function runFuzzCampaign(stack: FuzzStack, options: FuzzCampaignOptions): Promise<FuzzReport> {
  const concurrency = options.concurrency ?? 6;
  const batchSize = options.batchSize ?? 250;
  const sender = createSender({ maxSockets: concurrency + 2, timeoutMs: 60_000 });
  const targets: FuzzTargets = { providerIds: stack.providerIds, connections: stack.connections, returnUrls: stack.returnUrls };
  const context: OracleContext = {
    returnUrls: stack.returnUrls,
    providerOrigin: stack.sandbox.origin,
    clientSecrets: stack.clientSecrets,
    issuedSecrets: () => stack.sandbox.issuedSecrets(),
  };
  const crashes: string[] = [];
  const onCrash = (error: unknown) => crashes.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtExceptionMonitor', onCrash);
  const violations: Violation[] = [];
  let violationCount = 0;
  const violationKinds = new Map<string, number>();
  const tallies: FunctionTally[] = [];
  try {
    for (const functionName of stack.functions) {
      const tally = newTally(functionName);
      tallies.push(tally);
      const arbitrary = requestsFor(functionName, targets);
      const began = performance.now();
      for (let batch = 0; batch * batchSize < options.requestsPerFunction; batch += 1) {
        const size = Math.min(batchSize, options.requestsPerFunction - batch * batchSize);
        const seed = options.seed + batch * 7_919 + functionName.length * 104_729;
        const requests = fc.sample(arbitrary, { numRuns: size, seed });
        await pool(requests, concurrency, async (generated, index) => {
          const where = `function ${functionName}, seed ${seed}, index ${index}`;
          const check = (done: Exchange, counted: boolean) => {
            const problems = done.response === undefined ? [`no answer: ${done.error ?? 'unknown'}`] : findViolations(done.request, done.response, done.presented, context);
            if (counted) {
              tally.requests += 1;
              tally.byClass[classOf(done.response?.status)] += 1;
              if (done.response) tally.byStatus.set(done.response.status, (tally.byStatus.get(done.response.status) ?? 0) + 1);
            } else {
              tally.setupRequests += 1;
            }
            if (problems.length === 0) return;
            violationCount += 1;
            for (const problem of problems) {
              const kind = `${done.functionName}: ${problem.replace(/\d+/g, 'N').slice(0, 160)}`;
              violationKinds.set(kind, (violationKinds.get(kind) ?? 0) + 1);
            }
            if (violations.length < MAX_KEPT_VIOLATIONS) {
              violations.push({ functionName: done.functionName, where: counted ? where : `${where} (setup)`, problems, request: describeRequest(done.request), status: done.response?.status });
            }
          };
          let request: FuzzRequest | undefined = generated;
          if (generated.liveFlow) {
            request = await runLiveFlow(stack, sender, generated, generated.liveFlow, index, (done) => check(done, false)).catch((error: unknown) => {
              check({ functionName, request: generated, response: undefined, presented: [], error: `live flow setup failed: ${String(error)}` }, false);
              return undefined;
            });
            if (request === undefined) {
              // The flow could not be set up (the step's answer was checked): fuzz the redirect URI without one.
              request = { ...generated, liveFlow: undefined } as FuzzRequest;
            } else {
              tally.liveFlows += 1;
              if (generated.liveFlow.replay) check(await exchange(stack, sender, request), false);
            }
          }
          check(await exchange(stack, sender, request), true);
        });
      }
      tally.elapsedMs = performance.now() - began;
      options.log?.(`${functionName}: ${tally.requests} requests in ${(tally.elapsedMs / 1000).toFixed(1)} s (${statusClasses.map((name) => `${name} ${tally.byClass[name]}`).join(', ')})`);
    }
  } finally {
    sender.close();
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtExceptionMonitor', onCrash);
  }
  return { seed: options.seed, tallies, violations, violationCount, violationKinds, crashes, skipped: stack.skipped };
}

export function formatFuzzTable(report: FuzzReport): string {
  const header = ['function', 'requests', ...statusClasses, 'live flows', 'setup reqs', 'req/s', 'statuses seen'];
  const rows = report.tallies.map((tally) => [
    tally.functionName,
    String(tally.requests),
    ...statusClasses.map((name) => String(tally.byClass[name])),
    String(tally.liveFlows),
    String(tally.setupRequests),
    tally.elapsedMs > 0 ? ((tally.requests / tally.elapsedMs) * 1000).toFixed(0) : '-',
    [...tally.byStatus].sort(([a], [b]) => a - b).map(([status, count]) => `${status}:${count}`).join(' '),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
  const render = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] as number)).join('  ').trimEnd();
  return [render(header), render(widths.map((width) => '-'.repeat(width))), ...rows.map(render)].join('\n');
}
