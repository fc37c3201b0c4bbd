// The HTTP status, title and retryability of each stable error code.
// The codes themselves travel to callers, so the client's wire file declares them; this table gives each its meaning.
import type { ErrorCode } from '../../client/wire.js';

export { type ErrorCode, errorCodes } from '../../client/wire.js';

export interface ErrorCodeInfo {
  readonly status: number;
  readonly title: string;
  /** Whether the same request may succeed if retried later without change. */
  readonly retryable: boolean;
}

// `satisfies Record<ErrorCode, ...>` makes the compiler reject a code without an entry.
export const errorCodeTable = {
  invalid_request: { status: 400, title: 'The request is malformed or fails validation', retryable: false },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json', retryable: false },
  unsupported_content_encoding: { status: 415, title: 'The request body must not be compressed', retryable: false },
  payload_too_large: { status: 413, title: 'The request body is too large', retryable: false },
  method_not_allowed: { status: 405, title: 'This method is not allowed here', retryable: false },
  not_found: { status: 404, title: 'No such resource', retryable: false },
  unknown_provider: { status: 400, title: 'The provider is not configured on this broker', retryable: false },
  invalid_scope: { status: 400, title: 'A requested scope is not offered by the provider', retryable: false },
  invalid_return_url: { status: 400, title: 'The return URL is not on the allowlist', retryable: false },
  invalid_connection_config: { status: 400, title: 'The per-connection configuration is invalid', retryable: false },
  invalid_proxy_path: { status: 400, title: 'The proxied path could leave the provider\'s API and was refused', retryable: false },
  proxy_not_supported: { status: 400, title: 'The broker has no API base for this provider to proxy to', retryable: false },
  unauthenticated: { status: 401, title: 'The caller could not be authenticated', retryable: false },
  caller_not_allowed: { status: 403, title: 'The caller is not allowed to do this', retryable: false },
  proxy_not_allowed: { status: 403, title: 'The caller\'s API rules do not allow this provider call', retryable: false },
  quota_exceeded: { status: 429, title: 'Too many requests; retry after the time in Retry-After', retryable: true },
  not_connected: { status: 404, title: 'The user has no connection to this provider', retryable: false },
  ambiguous_account: { status: 409, title: 'Several accounts are connected; name one with accountId', retryable: false },
  needs_reauth: { status: 409, title: 'The grant is no longer valid; the user must reconnect', retryable: false },
  insufficient_scope: { status: 403, title: 'The connection lacks a required scope', retryable: false },
  connection_revoked: { status: 410, title: 'The connection was revoked', retryable: false },
  flow_expired: { status: 400, title: 'The authorization flow has expired', retryable: false },
  flow_not_found: { status: 400, title: 'The authorization flow is unknown', retryable: false },
  flow_already_used: { status: 400, title: 'The authorization flow was already used', retryable: false },
  flow_browser_mismatch: { status: 400, title: 'The authorization flow belongs to another browser', retryable: false },
  flow_user_mismatch: { status: 403, title: 'The connect flow was started for another user; its grant was discarded', retryable: false },
  issuer_mismatch: { status: 400, title: 'The authorization response came from an unexpected issuer', retryable: false },
  access_denied: { status: 400, title: 'The user declined the authorization', retryable: false },
  conflict: { status: 409, title: 'The resource changed concurrently; retry', retryable: true },
  lease_held: { status: 409, title: 'Another worker holds the lease', retryable: true },
  provider_unavailable: { status: 503, title: 'The provider is unavailable; retry later', retryable: true },
  provider_error: { status: 502, title: 'The provider answered with an error', retryable: false },
  provider_timeout: { status: 504, title: 'The provider did not answer in time', retryable: true },
  kms_unavailable: { status: 503, title: 'Cloud KMS is unavailable; retry later', retryable: true },
  storage_unavailable: { status: 503, title: 'Storage is unavailable; retry later', retryable: true },
  identity_unavailable: { status: 503, title: 'Caller identity cannot be verified right now; retry later', retryable: true },
  events_unavailable: { status: 503, title: 'Connection events cannot be published right now; retry later', retryable: true },
  scheduler_unavailable: { status: 503, title: 'Cloud Scheduler cannot start the job right now; retry later', retryable: true },
  crypto_integrity: { status: 500, title: 'Sealed data failed its integrity check', retryable: false },
  misconfigured: { status: 500, title: 'The broker is misconfigured', retryable: false },
  internal: { status: 500, title: 'Internal error', retryable: false },
} as const satisfies Record<ErrorCode, ErrorCodeInfo>;
