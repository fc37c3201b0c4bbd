// A product backend confirms which of its users came back from a connect flow (`outcome=pending_confirmation`): the
// user the flow was started for turns the parked grant into the connection; any other user, or a confirmation after
// the window, discards the grant and revokes it at the provider. The defence against session swap and phishing by
// link (docs/connect-confirmation.md).
import { z } from 'zod';
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import type { Actor } from '../../store/connection-writes.js';
import { consumeParkedGrantInTransaction, parkedGrantIdFor, readParkedGrant, unconfirmableError } from '../../store/parked-grants.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { openParkedGrant, parkedGrantToStore } from '../connect/park-connected-grant.js';
import { connectedOutcome } from '../connect/return-url.js';
import { discardParkedGrant } from './discard-parked-grant.js';
import { storeConnectedGrant } from './store-connected-grant.js';

const identifier = z.string().min(1).max(256);

export const confirmRequestSchema = z
  .object({
    tenantId: identifier,
    /** The `flow_id` the browser brought to the return URL: 32 random bytes, base64url. */
    flowId: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    /** The product's signed-in user in the browser that brought the flow id back. */
    userId: identifier,
  })
  .strict();

export interface ConfirmResult {
  readonly connectionId: string;
  readonly outcome: 'connected' | 'connected_without_refresh';
  /** False when the grant updated this user's existing connection to the same account. */
  readonly created: boolean;
}

export async function confirmConnect(runtime: BrokerRuntime, callerEmail: string, body: unknown): Promise<ConfirmResult> {
  const parsed = confirmRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new BrokerError('invalid_request', 'The confirmation is invalid', {
      details: { fields: [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(body)'))] },
    });
  }
  const { tenantId, flowId, userId } = parsed.data;
  const id = parkedGrantIdFor(flowId);
  const parked = await readParkedGrant(runtime.firestore(), id);
  // Another tenant's flow is "not found", not "forbidden": flow ids reveal nothing across tenants.
  if (parked === undefined || parked.document.tenantId !== tenantId) {
    throw new BrokerError('flow_not_found', 'This connect flow is unknown or has expired');
  }
  const { document } = parked;
  const asked = { tenantId, provider: document.provider };
  // The backend that may start connects for the tenant may finish them; so may one that manages its connections.
  if (!runtime.callerPolicy.allows(callerEmail, { action: 'connect', ...asked })) {
    runtime.callerPolicy.authorize(callerEmail, { action: 'manage_connections', ...asked });
  }
  const actor: Actor = { type: 'service_account', id: callerEmail };
  const discard = { actor, logger: runtime.logger };

  const refusal = unconfirmableError(document, runtime.clock.nowMs());
  if (refusal !== undefined) {
    // Past its deadline and not yet swept: discarded now rather than at the next sweep.
    if (refusal.code === 'flow_expired' && document.state === 'awaiting') await discardParkedGrant(runtime, id, 'expired', discard);
    throw refusal;
  }
  if (userId !== document.userId) {
    await discardParkedGrant(runtime, id, 'user_mismatch', discard);
    throw new BrokerError('flow_user_mismatch', 'This connect flow was started for another user; its grant was discarded and revoked');
  }

  const grant = await openParkedGrant(runtime.vault(), parked);
  let stored;
  try {
    stored = await storeConnectedGrant(runtime, parkedGrantToStore(document, grant, actor), (transaction, connectionId) =>
      consumeParkedGrantInTransaction(
        runtime.firestore(),
        transaction,
        { id, connectionId, nowMs: runtime.clock.nowMs(), audit: { action: 'flow.confirmed', actor, outcome: 'success', reason: null } },
        runtime,
      ),
    );
  } catch (error) {
    // The window closed while this confirmation ran: nothing was stored, so the grant goes the way of every late one.
    if (isBrokerError(error, 'flow_expired')) await discardParkedGrant(runtime, id, 'expired', discard);
    throw error;
  }
  if (document.grant !== null) runtime.vault().forget(document.grant);
  const outcome = connectedOutcome(grant);
  runtime.logger.info('connect.confirmed', 'the product confirmed its user; connection stored', {
    tenantId,
    userId,
    provider: document.provider,
    connectionId: stored.connectionId,
    outcome,
  });
  return { connectionId: stored.connectionId, outcome, created: stored.created };
}
