// What travels between the broker and its callers, declared once: the token function's request and answer, the
// headers that name a proxied call's connection, the stable error codes, and the problem answer (RFC 9457) with the
// proxy's marker header.
//
// The client package owns these (callers compile against them); the server imports them and ties its zod request
// schema to them at compile time (shared/usecases/token/token-request.ts). This file imports nothing, so the client
// package stays free of zod and of the server's files, and shared/ may import it (scripts/layers.js).

/** The token function's request body. */
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

/** The token function's answer. */
export interface TokenResponse {
  readonly accessToken: string;
  readonly tokenType: string;
  /** ISO 8601; null when the provider's token lives until revoked. */
  readonly expiresAt: string | null;
  readonly scopes: readonly string[];
  readonly connectionId: string;
  readonly providerAccountId: string;
  /** Non-secret facts the provider's API needs, e.g. Salesforce `instanceUrl`. */
  readonly metadata: Readonly<Record<string, string>>;
}

const isString = (value: unknown): value is string => typeof value === 'string';

/** Whether a parsed body is a token answer: what the client checks before it trusts one. */
export function isTokenResponse(body: unknown): body is TokenResponse {
  if (typeof body !== 'object' || body === null) return false;
  const wire = body as Partial<Record<keyof TokenResponse, unknown>>;
  return (
    isString(wire.accessToken) &&
    isString(wire.tokenType) &&
    (wire.expiresAt === null || isString(wire.expiresAt)) &&
    Array.isArray(wire.scopes) &&
    wire.scopes.every(isString) &&
    isString(wire.connectionId) &&
    isString(wire.providerAccountId) &&
    typeof wire.metadata === 'object' &&
    wire.metadata !== null &&
    Object.values(wire.metadata).every(isString)
  );
}

/** The connection a proxied call uses: the tenant, the user (omit for the tenant-level one), the account if several. */
export interface ConnectionName {
  readonly tenantId: string;
  readonly userId?: string;
  readonly accountId?: string;
}

/** The proxy reads a call's ConnectionName from these headers (the path and body belong to the provider's API). */
export const connectionHeaderNames = {
  tenantId: 'x-broker-tenant-id',
  userId: 'x-broker-user-id',
  accountId: 'x-broker-account-id',
} as const satisfies Record<keyof ConnectionName, string>;

/** Set on the proxy's answer when the broker itself refused or failed, so a caller tells it from the provider's own answer. */
export const brokerErrorHeader = 'x-broker-error';

/** The closed set of stable error codes a broker answer carries (the server's table gives each its status and title). */
export const errorCodes = [
  // Caller input (4xx)
  'invalid_request',
  'unsupported_media_type',
  'unsupported_content_encoding',
  'payload_too_large',
  'method_not_allowed',
  'not_found',
  'unknown_provider',
  'invalid_scope',
  'invalid_return_url',
  'invalid_connection_config',
  'invalid_proxy_path',
  'proxy_not_supported',
  // Caller identity and policy
  'unauthenticated',
  'caller_not_allowed',
  'proxy_not_allowed',
  'quota_exceeded',
  // Connection state
  'not_connected',
  'ambiguous_account',
  'needs_reauth',
  'insufficient_scope',
  'connection_revoked',
  // Connect flow
  'flow_expired',
  'flow_not_found',
  'flow_already_used',
  'flow_browser_mismatch',
  'flow_user_mismatch',
  'issuer_mismatch',
  'access_denied',
  // Concurrency
  'conflict',
  'lease_held',
  // Dependencies (5xx, retryable)
  'provider_unavailable',
  'provider_error',
  'provider_timeout',
  'kms_unavailable',
  'storage_unavailable',
  'identity_unavailable',
  'events_unavailable',
  'scheduler_unavailable',
  // Integrity: sealed data that does not open is never retryable
  'crypto_integrity',
  // Our own misconfiguration: the operator must act
  'misconfigured',
  'internal',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** The broker's problem answer (RFC 9457) with its stable `code`. */
export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  /** Absent for the broker's own faults, which are for operators' logs. */
  readonly detail?: string;
  readonly retryable?: boolean;
  /** e.g. `missingScopes` for insufficient_scope, `accountIds` for ambiguous_account, `fields` for invalid_request. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A problem answer as a caller reads it: each field only when it has its wire type. */
export interface ProblemReading {
  readonly code?: string;
  /** The problem's `detail`, else its `title`. */
  readonly message?: string;
  readonly retryable: boolean;
  readonly details?: Readonly<Record<string, unknown>>;
  /** The Retry-After header, when it gives whole seconds. */
  readonly retryAfterSeconds?: number;
}

const asString = (value: unknown): string | undefined => (isString(value) ? value : undefined);

/**
 * Reads a failed answer field by field: whatever answered (the broker, or Cloud Run and IAP before the function ran)
 * may have sent no ProblemBody at all, and the caller falls back on the status for what is missing.
 */
export function readProblem(body: unknown, headers: Headers): ProblemReading {
  const problem = (typeof body === 'object' && body !== null ? body : {}) as Partial<Record<keyof ProblemBody, unknown>>;
  const message = asString(problem.detail) ?? asString(problem.title);
  const retryAfter = headers.get('retry-after')?.trim();
  return {
    ...(isString(problem.code) ? { code: problem.code } : {}),
    ...(message === undefined ? {} : { message }),
    retryable: problem.retryable === true,
    ...(typeof problem.details === 'object' && problem.details !== null ? { details: problem.details as Record<string, unknown> } : {}),
    ...(retryAfter !== undefined && /^\d{1,9}$/.test(retryAfter) ? { retryAfterSeconds: Number(retryAfter) } : {}),
  };
}
