// Return URLs: exact match against the configured allowlist, and the outcome parameters a flow ends with.
import { BrokerError } from '../../errors/broker-error.js';

/**
 * How a connect flow ended, as the product's return URL learns it (`outcome`, plus `error` unless connected or
 * pending). `pending_confirmation` comes with `flow_id`: the product confirms its signed-in user with it.
 * `connected_without_refresh`: connected, but the grant asked for a refresh token and got none, so it lasts only as
 * long as its access token; the user should reconnect (and grant offline access) now.
 */
export const connectOutcomes = ['connected', 'connected_without_refresh', 'pending_confirmation', 'denied', 'failed'] as const;

/** The outcome of a stored grant. */
export function connectedOutcome(grant: { readonly offlineAccess?: 'granted' | 'missing' }): 'connected' | 'connected_without_refresh' {
  return grant.offlineAccess === 'missing' ? 'connected_without_refresh' : 'connected';
}
export type ConnectOutcome = (typeof connectOutcomes)[number];

export function isAllowedReturnUrl(allowlist: readonly string[], returnUrl: string): boolean {
  // Exact string equality: no prefix, host or pattern matching, which is where open redirects come from.
  return allowlist.includes(returnUrl);
}

export function requireAllowedReturnUrl(allowlist: readonly string[], returnUrl: string): string {
  if (!isAllowedReturnUrl(allowlist, returnUrl)) {
    throw new BrokerError('invalid_return_url', 'The return URL is not on the allowlist');
  }
  return returnUrl;
}

export interface OutcomeParameters {
  readonly outcome: ConnectOutcome;
  readonly connectionId?: string;
  /** The one-time id the product confirms with; a secret of this flow, so it travels nowhere else. */
  readonly flowId?: string;
  /** A stable error code (see shared/errors/error-codes.ts); never provider text. */
  readonly error?: string;
}

export function returnUrlWithOutcome(returnUrl: string, parameters: OutcomeParameters): string {
  const url = new URL(returnUrl);
  url.searchParams.set('outcome', parameters.outcome);
  if (parameters.connectionId !== undefined) url.searchParams.set('connection_id', parameters.connectionId);
  if (parameters.flowId !== undefined) url.searchParams.set('flow_id', parameters.flowId);
  if (parameters.error !== undefined) url.searchParams.set('error', parameters.error);
  return url.href;
}
