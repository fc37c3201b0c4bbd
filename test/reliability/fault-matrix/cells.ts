// The fault matrix as data: every fault, every path, and the outcome each cell must end in (docs/fault-matrix.md).
//
// One sandbox provider plays every cell: Zoom, which rotates refresh tokens and kills the rotated-out one, so a
// refresh token the broker failed to keep shows up as a dead grant in the invariant check.

export const MATRIX_PROVIDER = 'zoom';

export const matrixPaths = ['token_read', 'connect_callback', 'refresh_sweep', 'health_sweep'] as const;
export type MatrixPath = (typeof matrixPaths)[number];

export const pathTitles: Readonly<Record<MatrixPath, string>> = {
  token_read: 'token read',
  connect_callback: 'connect callback',
  refresh_sweep: 'refresh sweep',
  health_sweep: 'health sweep',
};

export const matrixFaults = [
  'none',
  'provider_500',
  'provider_429',
  'provider_timeout',
  'provider_malformed',
  'dead_grant',
  'rotation',
  'rotation_invalidating',
  'kms_unavailable',
  'kms_slow',
  'firestore_contention',
] as const;
export type MatrixFault = (typeof matrixFaults)[number];

export const faultTitles: Readonly<Record<MatrixFault, string>> = {
  none: 'no fault (baseline)',
  provider_500: 'provider 500',
  provider_429: 'provider 429 + Retry-After: 120',
  provider_timeout: 'provider timeout (hangs)',
  provider_malformed: 'provider malformed body',
  dead_grant: 'dead grant (invalid_grant)',
  rotation: 'rotation, old token still works',
  rotation_invalidating: 'rotation, old token invalidated',
  kms_unavailable: 'KMS unavailable',
  kms_slow: 'KMS slow (1 s per call)',
  firestore_contention: 'Firestore transaction aborted',
};

/**
 * What a user of the path sees, and what is left behind:
 * - `response`: HTTP status and the stable code (token: problem code; callback: the return URL's outcome;
 *   sweeps: what their report says about the connection);
 * - `status`: the connection's status afterwards (`none`: no connection document);
 * - `event`: the outbox events written for the connection during the cell;
 * - `retry`: when the broker will try the provider again (`backoff`, `after Retry-After`, `stopped` for a dead
 *   grant, `unchanged` when nothing was recorded, `none` when nothing is pending);
 * - `providerCalls`: calls that reached the path's provider endpoint (refresh, token or identity).
 */
export interface Outcome {
  readonly response: string;
  readonly status: string;
  readonly event: string;
  readonly retry: string;
  readonly providerCalls: number;
}

export interface ApplicableCell {
  readonly fault: MatrixFault;
  readonly path: MatrixPath;
  readonly applies: true;
  readonly expected: Outcome;
  /** The invariant "the stored refresh token is the one the provider rotated to" (rotation rows). */
  readonly expectRotatedRefreshToken?: boolean;
}

export interface NotApplicableCell {
  readonly fault: MatrixFault;
  readonly path: MatrixPath;
  readonly applies: false;
  readonly reason: string;
}

export type MatrixCell = ApplicableCell | NotApplicableCell;

const ok = (response: string, status: string, event = 'none', retry = 'none'): Outcome => ({ response, status, event, retry, providerCalls: 1 });

/** The outcome of each path when nothing goes wrong: the yardstick the rotation, slow-KMS and contention rows must match. */
const baseline: Readonly<Record<MatrixPath, Outcome>> = {
  token_read: ok('200 ok', 'active'),
  connect_callback: ok('303 connected', 'active', 'connection.created'),
  refresh_sweep: ok('200 refreshed', 'active'),
  // A healthy probe refreshes nothing: the refresh schedule is left as it was.
  health_sweep: ok('200 healthy', 'active', 'none', 'unchanged'),
};

/** Retryable provider failures: the read fails fast, the failure is recorded with a retry time, nothing else moves. */
function retryable(code: 'provider_unavailable' | 'provider_error', retry: 'backoff' | 'after Retry-After'): Readonly<Record<MatrixPath, Outcome>> {
  const httpStatus = code === 'provider_unavailable' ? 503 : 502;
  const retryAfter = retry === 'backoff' ? '1-60 s' : '>= 110 s';
  return {
    token_read: { response: `${httpStatus} ${code}, Retry-After ${retryAfter}`, status: 'active', event: 'none', retry, providerCalls: 1 },
    // The flow is spent; the browser goes back to the product, which offers to start again.
    connect_callback: { response: `303 failed:${code}`, status: 'none', event: 'none', retry: 'none', providerCalls: 1 },
    refresh_sweep: { response: `200 failed:${code}`, status: 'active', event: 'none', retry, providerCalls: 1 },
    // A failed probe marks the connection unhealthy (announced), never needs_reauth; the next check is the next sweep's.
    health_sweep: { response: `200 unhealthy:${code}`, status: 'active', event: 'connection.health_changed', retry: 'unchanged', providerCalls: 1 },
  };
}

const expectedByFault: Readonly<Record<MatrixFault, Readonly<Partial<Record<MatrixPath, Outcome>>>>> = {
  none: baseline,
  provider_500: retryable('provider_unavailable', 'backoff'),
  provider_429: retryable('provider_unavailable', 'after Retry-After'),
  provider_timeout: retryable('provider_unavailable', 'backoff'),
  provider_malformed: retryable('provider_error', 'backoff'),
  dead_grant: {
    token_read: { response: '409 needs_reauth', status: 'needs_reauth', event: 'connection.needs_reauth', retry: 'stopped', providerCalls: 1 },
    // An invalid_grant to a code exchange is a bad code, not a dead connection: the flow fails, the user starts again.
    connect_callback: { response: '303 failed:provider_error', status: 'none', event: 'none', retry: 'none', providerCalls: 1 },
    refresh_sweep: { response: '200 failed:invalid_grant', status: 'needs_reauth', event: 'connection.needs_reauth', retry: 'stopped', providerCalls: 1 },
    // The probe's 401 earns one refresh, which meets the dead grant: needs_reauth with its event.
    health_sweep: {
      response: '200 needs_reauth',
      status: 'needs_reauth',
      // One event: the refresh's move to needs_reauth; the check itself then records its verdict only.
      event: 'connection.needs_reauth',
      retry: 'stopped',
      providerCalls: 1,
    },
  },
  rotation: { token_read: baseline.token_read, refresh_sweep: baseline.refresh_sweep },
  rotation_invalidating: { token_read: baseline.token_read, refresh_sweep: baseline.refresh_sweep },
  // KMS first: nothing reaches the provider (no rotation that could not be sealed), nothing is recorded, the lease is released.
  kms_unavailable: {
    token_read: { response: '503 kms_unavailable, Retry-After 1-60 s', status: 'active', event: 'none', retry: 'unchanged', providerCalls: 0 },
    connect_callback: { response: '303 failed:kms_unavailable', status: 'none', event: 'none', retry: 'none', providerCalls: 0 },
    refresh_sweep: { response: '200 failed:kms_unavailable', status: 'active', event: 'none', retry: 'unchanged', providerCalls: 0 },
    health_sweep: { response: '200 failed:kms_unavailable', status: 'active', event: 'none', retry: 'unchanged', providerCalls: 0 },
  },
  kms_slow: baseline,
  firestore_contention: baseline,
};

const notApplicable: Readonly<Partial<Record<MatrixFault, Readonly<Partial<Record<MatrixPath, string>>>>>> = {
  rotation: {
    connect_callback: 'a code exchange issues the first refresh token; nothing is rotated',
    health_sweep: 'a healthy probe refreshes nothing; the refresh after a rejected probe is the engine the other columns run',
  },
  rotation_invalidating: {
    connect_callback: 'a code exchange issues the first refresh token; nothing is rotated',
    health_sweep: 'a healthy probe refreshes nothing; the refresh after a rejected probe is the engine the other columns run',
  },
};

export const matrixCells: readonly MatrixCell[] = matrixFaults.flatMap((fault) =>
  matrixPaths.map((path): MatrixCell => {
    const reason = notApplicable[fault]?.[path];
    if (reason !== undefined) return { fault, path, applies: false, reason };
    const expected = expectedByFault[fault][path];
    if (expected === undefined) throw new TypeError(`fault matrix: no expected outcome for ${fault} × ${path}`);
    const rotates = fault === 'rotation' || fault === 'rotation_invalidating';
    return { fault, path, applies: true, expected, ...(rotates ? { expectRotatedRefreshToken: true } : {}) };
  }),
);

export function describeOutcome(outcome: Outcome): string {
  return `${outcome.response}; ${outcome.status}; event ${outcome.event}; retry ${outcome.retry}; ${outcome.providerCalls} provider call${outcome.providerCalls === 1 ? '' : 's'}`;
}

export function sameOutcome(a: Outcome, b: Outcome): boolean {
  return describeOutcome(a) === describeOutcome(b);
}
