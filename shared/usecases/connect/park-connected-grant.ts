// Parks a grant the callback obtained, sealed, until the product confirms its signed-in user (docs/connect-confirmation.md):
// a connect link is a bearer link, so whoever opened it may not be the user it was made for.
import { openSealedJson, sealJson } from '../../crypto/sealed-json.js';
import type { Vault } from '../../crypto/vault.js';
import { BrokerError } from '../../errors/broker-error.js';
import { type ConnectedGrant, connectedGrantSchema } from '../../oauth/token-set.js';
import { createParkedGrant, type ParkedGrant, parkedGrantIdFor, parkedGrantSealContext, type StoredParkedGrant } from '../../store/parked-grants.js';
import type { Actor } from '../../store/connection-writes.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import type { GrantToStore } from '../connections/store-connected-grant.js';

/** 256 bits: the flow id is all a product backend needs (with its IAM identity) to turn the grant into a connection. */
const FLOW_ID_BYTES = 32;

/** What a connect flow parks: exactly what it would have stored, for a user, from a browser flow. */
export type GrantToPark = GrantToStore & { readonly userId: string; readonly kind: ParkedGrant['kind'] };

/** Seals and stores the grant; returns the one-time flow id the browser carries to the product's return URL. */
export async function parkConnectedGrant(runtime: BrokerRuntime, input: GrantToPark): Promise<string> {
  const flowId = runtime.ids.secretToken(FLOW_ID_BYTES);
  const id = parkedGrantIdFor(flowId);
  const nowMs = runtime.clock.nowMs();
  const vault = runtime.vault();
  const grant = await sealJson(vault, connectedGrantSchema, input.grant, parkedGrantSealContext(id, input.tenantId));
  try {
    await createParkedGrant(
      runtime.firestore(),
      id,
      {
        tenantId: input.tenantId,
        userId: input.userId,
        provider: input.provider,
        kind: input.kind,
        connectionConfig: input.connectionConfig,
        grant,
        parkedAtMs: nowMs,
        confirmByMs: nowMs + runtime.config.connect.confirmationWindowMs,
      },
      { action: 'flow.awaiting_confirmation', actor: input.actor, outcome: 'success', reason: null },
      runtime,
    );
  } finally {
    // The confirmation opens it in another function; this process keeps no copy of its data key.
    vault.forget(grant);
  }
  return flowId;
}

export async function openParkedGrant(vault: Vault, parked: StoredParkedGrant): Promise<ConnectedGrant> {
  const { grant, tenantId } = parked.document;
  // Only tombstones (confirmed, discarded) have no grant left.
  if (grant === null) throw new BrokerError('flow_already_used', 'This connect flow was already confirmed or discarded');
  return openSealedJson(vault, grant, connectedGrantSchema, parkedGrantSealContext(parked.id, tenantId), 'parked grant');
}

/** The parked grant as the connection it becomes: the same input the callback stores when no confirmation is needed. */
export function parkedGrantToStore(parked: ParkedGrant, grant: ConnectedGrant, actor: Actor): GrantToStore {
  return {
    tenantId: parked.tenantId,
    userId: parked.userId,
    provider: parked.provider,
    kind: parked.kind,
    grant,
    connectionConfig: parked.connectionConfig,
    actor,
  };
}
