// Seals a fresh grant for its connection and upserts the connection: the one path every kind of connect takes.
import type { ConnectedGrant } from '../../oauth/token-set.js';
import { sealCredentials } from '../../store/connection-credentials.js';
import { type ConnectionKind, connectionIdFor } from '../../store/connection-document.js';
import { type Actor, type SameTransactionWork, upsertConnectedGrant, type UpsertResult } from '../../store/connection-writes.js';
import type { BrokerRuntime } from '../broker-runtime.js';

/** Refresh this long before expiry, so a token read rarely waits for the provider. */
export const REFRESH_AHEAD_MS = 5 * 60 * 1000;

/**
 * When the refresh sweep should look at a new grant: ahead of expiry when it can be renewed (a refresh
 * token, or an app-only grant that is simply run again), never for tokens that live until revoked.
 */
export function nextRefreshAtMs(kind: ConnectionKind, grant: Pick<ConnectedGrant, 'expiresAtMs' | 'refreshToken'>, nowMs: number): number | null {
  if (grant.expiresAtMs === undefined) return null;
  if (grant.refreshToken === undefined && kind !== 'client_credentials') return null;
  return Math.max(nowMs, grant.expiresAtMs - REFRESH_AHEAD_MS);
}

export interface GrantToStore {
  readonly tenantId: string;
  readonly userId: string | null;
  readonly provider: string;
  readonly kind: ConnectionKind;
  readonly grant: ConnectedGrant;
  readonly connectionConfig: Readonly<Record<string, string>>;
  readonly actor: Actor;
}

/** `inSameTransaction` commits with the connection or aborts it (see SameTransactionWork). */
export async function storeConnectedGrant(runtime: BrokerRuntime, input: GrantToStore, inSameTransaction?: SameTransactionWork): Promise<UpsertResult> {
  const { grant } = input;
  const connectionId = connectionIdFor({
    tenantId: input.tenantId,
    userId: input.userId,
    provider: input.provider,
    providerAccountId: grant.providerAccountId,
  });
  const vault = runtime.vault();
  const credentials = await sealCredentials(
    vault,
    {
      accessToken: grant.accessToken,
      ...(grant.refreshToken === undefined ? {} : { refreshToken: grant.refreshToken }),
      ...(grant.tokenSecret === undefined ? {} : { tokenSecret: grant.tokenSecret }),
    },
    { connectionId, tenantId: input.tenantId },
  );
  let result: UpsertResult;
  try {
    result = await upsertConnectedGrant(
      runtime.firestore(),
      {
        connectionId,
        tenantId: input.tenantId,
        userId: input.userId,
        provider: input.provider,
        kind: input.kind,
        providerAccountId: grant.providerAccountId,
        displayName: grant.displayName ?? null,
        scopes: grant.scopes,
        credentials,
        expiresAtMs: grant.expiresAtMs ?? null,
        nextRefreshAtMs: nextRefreshAtMs(input.kind, grant, runtime.clock.nowMs()),
        metadata: grant.metadata,
        connectionConfig: input.connectionConfig,
        actor: input.actor,
        withoutRefreshToken: grant.offlineAccess === 'missing',
      },
      runtime,
      inSameTransaction,
    );
  } catch (error) {
    // Nothing was written: the credentials just sealed exist nowhere, and neither may their data key.
    vault.forget(credentials);
    throw error;
  }
  // The replaced grant's data key must not outlive its ciphertext in this process's cache.
  if (result.replacedCredentials !== null) vault.forget(result.replacedCredentials);
  return result;
}
