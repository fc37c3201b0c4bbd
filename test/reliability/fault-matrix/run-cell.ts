// Runs one cell of the fault matrix against a matrix stack: set the path up, inject the fault, call the real function
// over HTTP, read what it left in the emulator, and check the invariants. The same oracle for every cell.
import { connectAtSandbox, setStoredExpiry } from '../../support/connection-fixtures.js';
import { flowIdForState } from '../../../shared/store/auth-flows.js';
import { collectionNames } from '../../../shared/store/collections.js';
import { connectionDocumentSchema, type ConnectionDocument } from '../../../shared/store/connection-document.js';
import type { SandboxEndpoint } from '../../../local/provider-sandbox/provider-sandbox.js';
import { type ApplicableCell, type MatrixCell, type MatrixFault, type MatrixPath, MATRIX_PROVIDER, type Outcome, sameOutcome } from './cells.js';
import { countContentionMet, holdDocumentLock } from './contention.js';
import { findHalfWrittenRecords, findLeakedSecrets, findLostRefreshToken } from './invariants.js';
import { MATRIX_RETURN_URL, matrixIdentities, type MatrixStack } from './matrix-stack.js';

export interface CellResult {
  readonly cell: MatrixCell;
  /** Undefined for cells that do not apply. */
  readonly observed?: Outcome;
  /** Invariant violations and harness failures; empty when the cell passed. */
  readonly problems: readonly string[];
  readonly ok: boolean;
  readonly durationMs: number;
}

/** The provider endpoint each path calls, where its provider faults are injected. */
const pathEndpoint: Readonly<Record<MatrixPath, SandboxEndpoint>> = {
  token_read: 'refresh',
  connect_callback: 'token',
  refresh_sweep: 'refresh',
  health_sweep: 'identity',
};

/** The provider's latency while a competing transaction holds the document: the path's write lands inside the hold. */
const CONTENTION_PROVIDER_LATENCY_MS = 600;
const CONTENTION_HOLD_MS = 1_500;
const KMS_LATENCY_MS = 1_000;
const UNAVAILABLE = 14;

interface Prepared {
  /** The connection the cell is about; for the callback, known once the flow finished. */
  connectionId: string | undefined;
  readonly originalRefreshToken: string | undefined;
  readonly before: ConnectionDocument | undefined;
  /** For the callback: the flow document the contention row competes for. */
  readonly flowPath?: string;
  act(): Promise<Answer>;
}

interface Answer {
  readonly httpStatus: number;
  readonly body: string;
  readonly headers: Headers;
  /** `response` of the outcome. */
  readonly response: string;
  /** For the callback: the connection the return URL names. */
  readonly connectionId?: string;
  /** The access token a successful token read hands out by design: allowed in its body, never in a log line. */
  readonly servedAccessToken?: string;
}

export async function runCell(stack: MatrixStack, cell: MatrixCell): Promise<CellResult> {
  const startedMs = Date.now();
  if (!cell.applies) return { cell, problems: [], ok: true, durationMs: 0 };
  const problems: string[] = [];
  let observed: Outcome | undefined;
  try {
    observed = await runApplicable(stack, cell, problems);
    if (!sameOutcome(observed, cell.expected)) problems.unshift('the outcome differs from the documented one');
  } catch (error) {
    problems.push(`the cell could not run: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearFaults(stack);
  }
  return { cell, ...(observed === undefined ? {} : { observed }), problems, ok: problems.length === 0, durationMs: Date.now() - startedMs };
}

async function runApplicable(stack: MatrixStack, cell: ApplicableCell, problems: string[]): Promise<Outcome> {
  await stack.clear();
  stack.sandbox.reset();
  stack.kms.faults.clear();
  stack.takeLogLines();
  const userId = `u-${cell.fault}-${cell.path}`.replace(/_/g, '-');
  const prepared = await prepare(stack, cell.path, userId);
  const endpoint = pathEndpoint[cell.path];
  const t0 = Date.now();
  stack.sandbox.resetCalls();

  applyFault(stack, cell.fault, cell.path);
  const answer = cell.fault === 'firestore_contention' ? await actUnderContention(stack, cell.path, prepared, endpoint, problems) : await prepared.act();
  const providerCalls = stack.sandbox.calls(MATRIX_PROVIDER, endpoint);
  clearFaults(stack);

  const connectionId = prepared.connectionId ?? answer.connectionId;
  const after = connectionId === undefined ? undefined : await readDocument(stack, connectionId);
  const outcome: Outcome = {
    response: answer.response,
    status: after?.status ?? 'none',
    event: connectionId === undefined ? 'none' : await eventsOf(stack, connectionId),
    retry: retryOf(prepared.before, after, t0),
    providerCalls,
  };

  problems.push(...(await findHalfWrittenRecords(stack)));
  if (cell.path === 'connect_callback' && answer.response.endsWith('connected') && after === undefined) {
    problems.push('the callback reported a connection that does not exist');
  }
  const secrets = [...stack.sandbox.issuedSecrets(), stack.client.clientSecret];
  const inResponse = secrets.filter((secret) => secret !== answer.servedAccessToken);
  problems.push(...findLeakedSecrets([answer.body, answer.headers.get('location') ?? '', answer.headers.get('set-cookie') ?? ''], inResponse));
  problems.push(...findLeakedSecrets(stack.takeLogLines(), secrets));
  // Last: proving the refresh token works uses it up (the provider rotates it).
  if (connectionId !== undefined && after !== undefined && after.status !== 'needs_reauth') {
    problems.push(
      ...(await findLostRefreshToken(stack, {
        connectionId,
        originalRefreshToken: prepared.originalRefreshToken,
        expectRotated: cell.expectRotatedRefreshToken === true,
      })),
    );
  }
  return outcome;
}

async function prepare(stack: MatrixStack, path: MatrixPath, userId: string): Promise<Prepared> {
  if (path === 'connect_callback') return prepareCallback(stack, userId);
  const { connectionId, grant } = await connectAtSandbox({
    firestore: stack.firestore,
    vault: stack.vault,
    sandbox: stack.sandbox,
    client: stack.client,
    provider: MATRIX_PROVIDER,
    tenantId: matrixIdentities.tenant,
    userId,
  });
  // The token read finds an expired token (so it refreshes); the refresh sweep finds one due within its window;
  // the health sweep finds a valid, never-checked one.
  if (path === 'token_read') await setStoredExpiry(stack.firestore, connectionId, Date.now() - 1_000);
  if (path === 'refresh_sweep') await setStoredExpiry(stack.firestore, connectionId, Date.now() + 60_000);
  const before = await readDocument(stack, connectionId);
  const act = {
    token_read: () => readToken(stack, userId),
    refresh_sweep: () => runSweep(stack, 'refresh'),
    health_sweep: () => runSweep(stack, 'health'),
  }[path];
  return { connectionId, originalRefreshToken: grant.refreshToken, before, act };
}

async function prepareCallback(stack: MatrixStack, userId: string): Promise<Prepared> {
  const authorized = await fetch(stack.urlOf('authorize'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.idToken(matrixIdentities.productBackend, 'authorize')}` },
    body: JSON.stringify({ tenantId: matrixIdentities.tenant, userId, provider: MATRIX_PROVIDER, returnUrl: MATRIX_RETURN_URL }),
  });
  const { connectUrl } = (await authorized.json()) as { connectUrl?: string };
  if (authorized.status !== 200 || connectUrl === undefined) throw new Error(`authorize answered ${authorized.status}`);
  const start = await fetch(connectUrl, { redirect: 'manual' });
  const cookie = start.headers.getSetCookie().map((header) => header.split(';')[0]).join('; ');
  const providerUrl = new URL(start.headers.get('location') ?? 'about:blank');
  if (start.status !== 302 || cookie === '') throw new Error(`the start step answered ${start.status}`);
  providerUrl.searchParams.set('sandbox_decision', 'approve');
  providerUrl.searchParams.set('sandbox_account', 'alice');
  const consent = await fetch(providerUrl, { redirect: 'manual' });
  const back = new URL(consent.headers.get('location') ?? 'about:blank');
  const state = back.searchParams.get('state');
  if (consent.status !== 302 || !back.href.startsWith(stack.callbackUrl) || state === null) throw new Error(`the sandbox consent answered ${consent.status}`);
  return {
    connectionId: undefined,
    originalRefreshToken: undefined,
    before: undefined,
    flowPath: `${collectionNames.authFlows}/${flowIdForState(state)}`,
    act: () => finishCallback(back, cookie),
  };
}

async function readToken(stack: MatrixStack, userId: string): Promise<Answer> {
  const response = await fetch(stack.urlOf('token'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.idToken(matrixIdentities.reader, 'token')}` },
    body: JSON.stringify({ tenantId: matrixIdentities.tenant, userId, provider: MATRIX_PROVIDER }),
  });
  const body = await response.text();
  if (response.status === 200) {
    const { accessToken } = JSON.parse(body) as { accessToken: string };
    return { httpStatus: 200, body, headers: response.headers, response: '200 ok', servedAccessToken: accessToken };
  }
  const code = (JSON.parse(body) as { code?: string }).code ?? 'no code';
  const retryAfter = response.headers.get('retry-after');
  return { httpStatus: response.status, body, headers: response.headers, response: `${response.status} ${code}${retryAfter === null ? '' : `, Retry-After ${retryAfterBucket(Number(retryAfter))}`}` };
}

function retryAfterBucket(seconds: number): string {
  if (seconds >= 110) return '>= 110 s';
  if (seconds >= 1 && seconds <= 60) return '1-60 s';
  return `${seconds} s`;
}

async function finishCallback(callbackUrl: URL, cookie: string): Promise<Answer> {
  const response = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie } });
  const body = await response.text();
  const location = response.headers.get('location');
  if (response.status !== 303 || location === null) return { httpStatus: response.status, body, headers: response.headers, response: `${response.status} error page` };
  const back = new URL(location);
  const outcome = back.searchParams.get('outcome') ?? 'no outcome';
  const error = back.searchParams.get('error');
  const connectionId = back.searchParams.get('connection_id');
  return {
    httpStatus: 303,
    body,
    headers: response.headers,
    response: `303 ${outcome}${error === null ? '' : `:${error}`}`,
    ...(connectionId === null ? {} : { connectionId }),
  };
}

interface SweepReport {
  readonly refreshed?: number;
  readonly healthy?: number;
  readonly unhealthy?: number;
  readonly needsReauth?: number;
  readonly skipped?: number;
  readonly unhealthyByReason?: Record<string, number>;
  readonly failed?: { readonly total: number; readonly byReason: Record<string, number> };
  readonly code?: string;
}

async function runSweep(stack: MatrixStack, sweep: 'refresh' | 'health'): Promise<Answer> {
  const response = await fetch(stack.urlOf(sweep), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.idToken(matrixIdentities.scheduler, sweep)}` },
    body: '{}',
  });
  const body = await response.text();
  const report = JSON.parse(body) as SweepReport;
  const reasons = (counts: Record<string, number> | undefined) => Object.keys(counts ?? {}).sort().join(',');
  let summary: string;
  if (response.status !== 200) summary = report.code ?? 'no code';
  else if ((report.failed?.total ?? 0) > 0) summary = `failed:${reasons(report.failed?.byReason)}`;
  else if ((report.refreshed ?? 0) > 0 && sweep === 'refresh') summary = 'refreshed';
  else if ((report.needsReauth ?? 0) > 0) summary = 'needs_reauth';
  else if ((report.unhealthy ?? 0) > 0) summary = `unhealthy:${reasons(report.unhealthyByReason)}`;
  else if ((report.healthy ?? 0) > 0) summary = 'healthy';
  else summary = 'nothing done';
  return { httpStatus: response.status, body, headers: response.headers, response: `${response.status} ${summary}` };
}

function applyFault(stack: MatrixStack, fault: MatrixFault, path: MatrixPath): void {
  const { sandbox, kms } = stack;
  const endpoint = pathEndpoint[path];
  switch (fault) {
    case 'none':
    case 'firestore_contention':
      return;
    case 'provider_500':
      return sandbox.injectFault(MATRIX_PROVIDER, endpoint, { kind: 'status', status: 500 });
    case 'provider_429':
      return sandbox.injectFault(MATRIX_PROVIDER, endpoint, { kind: 'status', status: 429, retryAfter: '120' });
    case 'provider_timeout':
      return sandbox.injectFault(MATRIX_PROVIDER, endpoint, { kind: 'hang' });
    case 'provider_malformed':
      return sandbox.injectFault(MATRIX_PROVIDER, endpoint, { kind: 'malformed' });
    case 'dead_grant':
      // The grant is dead everywhere it is presented: the health probe's 401 leads to a refresh that must meet it too.
      for (const each of [endpoint, 'refresh'] as const) sandbox.injectFault(MATRIX_PROVIDER, each, { kind: 'invalid_grant' });
      return;
    case 'rotation':
      return sandbox.configure(MATRIX_PROVIDER, { rotateRefreshTokens: true, invalidateRotatedRefreshTokens: false });
    case 'rotation_invalidating':
      return sandbox.configure(MATRIX_PROVIDER, { rotateRefreshTokens: true, invalidateRotatedRefreshTokens: true });
    case 'kms_unavailable':
      kms.faults.failAll('Encrypt', UNAVAILABLE);
      kms.faults.failAll('Decrypt', UNAVAILABLE);
      return;
    case 'kms_slow':
      return kms.faults.setLatency('*', KMS_LATENCY_MS);
  }
}

/** Back to a well-behaved provider and KMS; rotation settings stay until the next cell's reset. */
function clearFaults(stack: MatrixStack): void {
  for (const endpoint of ['refresh', 'token', 'identity'] as const) stack.sandbox.injectFault(MATRIX_PROVIDER, endpoint, undefined);
  stack.sandbox.configure(MATRIX_PROVIDER, { latencyMs: 0 });
  stack.kms.faults.clear();
}

/**
 * The path runs while a second client's transaction holds the document the path writes: the connection (its write
 * after the provider answered, timed by the sandbox's latency) or, for the callback, the flow it consumes first.
 */
async function actUnderContention(stack: MatrixStack, path: MatrixPath, prepared: Prepared, endpoint: SandboxEndpoint, problems: string[]): Promise<Answer> {
  const contention = countContentionMet();
  try {
    let answer: Answer;
    let attempts: number;
    if (path === 'connect_callback') {
      const flowPath = prepared.flowPath as string;
      // A write that changes nothing the callback cares about; the emulator still aborts the callback's transaction.
      const { locked, holding } = holdDocumentLock(stack.competitor, flowPath, CONTENTION_HOLD_MS, (data) => ({ startedAtMs: data.startedAtMs as number }));
      await locked;
      answer = await prepared.act();
      ({ attempts } = await holding.done);
    } else {
      stack.sandbox.configure(MATRIX_PROVIDER, { latencyMs: CONTENTION_PROVIDER_LATENCY_MS });
      const acting = prepared.act();
      await until(() => stack.sandbox.calls(MATRIX_PROVIDER, endpoint) >= 1, 10_000);
      // A health-only write, as a concurrent health check makes: it leaves the refresh fence (`updatedAtMs`) alone.
      const { holding } = holdDocumentLock(stack.competitor, `${collectionNames.connections}/${prepared.connectionId}`, CONTENTION_HOLD_MS, (data) => ({
        health: { ...(data.health as Record<string, unknown>), latencyMs: 7 },
      }));
      answer = await acting;
      ({ attempts } = await holding.done);
    }
    if (contention.stop() < 1) problems.push('no write of the path met the competing one (aborted, or refused as stale): the contention was not provoked');
    if (attempts !== 1) problems.push('the competing transaction was aborted itself, not the path under test');
    return answer;
  } finally {
    contention.stop();
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the provider call');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function readDocument(stack: MatrixStack, connectionId: string): Promise<ConnectionDocument | undefined> {
  const snapshot = await stack.firestore.collection(collectionNames.connections).doc(connectionId).get();
  return snapshot.exists ? connectionDocumentSchema.parse(snapshot.data()) : undefined;
}

async function eventsOf(stack: MatrixStack, connectionId: string): Promise<string> {
  const events = await stack.firestore.collection(collectionNames.connectionEvents).where('connectionId', '==', connectionId).get();
  const types = events.docs.map((doc) => String(doc.get('type'))).sort();
  return types.length === 0 ? 'none' : types.join('+');
}

/** When the broker will call the provider for this connection again, judged from what the cell left behind. */
function retryOf(before: ConnectionDocument | undefined, after: ConnectionDocument | undefined, t0: number): string {
  if (after === undefined || before === undefined) return 'none';
  if (after.status === 'needs_reauth') return after.nextRefreshAtMs === null ? 'stopped' : 'needs_reauth with a retry scheduled';
  if (after.refresh.consecutiveFailures > 0) {
    if (after.nextRefreshAtMs === null || after.nextRefreshAtMs <= t0) return 'failure without a retry time';
    return after.nextRefreshAtMs >= t0 + 119_000 ? 'after Retry-After' : 'backoff';
  }
  const unchanged =
    after.nextRefreshAtMs === before.nextRefreshAtMs &&
    after.expiresAtMs === before.expiresAtMs &&
    JSON.stringify(after.refresh) === JSON.stringify(before.refresh);
  return unchanged ? 'unchanged' : 'none';
}
