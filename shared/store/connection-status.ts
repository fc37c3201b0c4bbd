// The connection state machine: every status, every allowed move, and the event name each move emits.
export const connectionStatuses = ['active', 'refreshing', 'needs_reauth', 'error', 'revoked'] as const;
export type ConnectionStatus = (typeof connectionStatuses)[number];

/**
 * Allowed moves. `refreshing` is held only while a lease holder talks to the provider; `error` means
 * retryable failures piled up (the sweep keeps trying with backoff); `needs_reauth` waits for the user to
 * reconnect; `revoked` is final — a reconnect after a revoke creates the connection anew.
 */
const allowedMoves: Readonly<Record<ConnectionStatus, readonly ConnectionStatus[]>> = {
  active: ['refreshing', 'needs_reauth', 'error', 'revoked', 'active'],
  refreshing: ['active', 'needs_reauth', 'error', 'revoked'],
  error: ['refreshing', 'active', 'needs_reauth', 'revoked', 'error'],
  needs_reauth: ['active', 'revoked', 'needs_reauth'],
  revoked: ['active'],
};

export function canMove(from: ConnectionStatus, to: ConnectionStatus): boolean {
  return allowedMoves[from].includes(to);
}

export const connectionEventTypes = [
  'connection.created',
  'connection.reconnected',
  'connection.scopes_changed',
  'connection.connected_without_refresh',
  'connection.refreshed_after_failure',
  'connection.refresh_failed',
  'connection.needs_reauth',
  'connection.health_changed',
  'connection.revoked',
] as const;
export type ConnectionEventType = (typeof connectionEventTypes)[number];

/** The event a status move announces; moves products need not hear about (e.g. into `refreshing`) have none. */
export function eventForMove(from: ConnectionStatus | null, to: ConnectionStatus): ConnectionEventType | undefined {
  if (from === null) return 'connection.created';
  if (to === 'revoked') return 'connection.revoked';
  if (to === 'needs_reauth' && from !== 'needs_reauth') return 'connection.needs_reauth';
  if (to === 'error' && from !== 'error') return 'connection.refresh_failed';
  if (to === 'active' && (from === 'needs_reauth' || from === 'revoked')) return 'connection.reconnected';
  if (to === 'active' && from === 'error') return 'connection.refreshed_after_failure';
  return undefined;
}
