// Many connections at once for the CLI's fleet-wide tests: sealed by the real vault, stored in batched writes.
import { randomBytes } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import type { Vault } from '../../shared/crypto/vault.js';
import { type ConnectionDocument, connectionDocumentSchema, connectionIdFor } from '../../shared/store/connection-document.js';
import { sealCredentials } from '../../shared/store/connection-credentials.js';
import { connectionRef } from '../../shared/store/connection-reads.js';
import { changeStamp } from '../../shared/store/connection-change.js';

const SEAL_CONCURRENCY = 16;
const BATCH_WRITES = 500;

export interface BulkConnections {
  readonly ids: readonly string[];
  /** The access and refresh tokens sealed into them, for leak scans. */
  readonly secrets: readonly string[];
  readonly credentialsOf: ReadonlyMap<string, { accessToken: string; refreshToken: string }>;
}

/** Stores `count` active slack connections of `tenantId`, users user-0000..; one sealed record each. */
export async function writeBulkConnections(firestore: Firestore, vault: Vault, count: number, tenantId: string): Promise<BulkConnections> {
  const nowMs = Date.now();
  const documents: { id: string; document: ConnectionDocument }[] = new Array(count);
  const secrets: string[] = [];
  const credentialsOf = new Map<string, { accessToken: string; refreshToken: string }>();
  let next = 0;
  const sealOne = async (index: number) => {
    const userId = `user-${String(index).padStart(4, '0')}`;
    const providerAccountId = `T${String(index).padStart(6, '0')}`;
    const id = connectionIdFor({ tenantId, userId, provider: 'slack', providerAccountId });
    const accessToken = `xoxe.xoxp-bulk-${randomBytes(12).toString('hex')}`;
    const refreshToken = `xoxe-1-bulk-${randomBytes(12).toString('hex')}`;
    secrets.push(accessToken, refreshToken);
    credentialsOf.set(id, { accessToken, refreshToken });
    documents[index] = {
      id,
      document: connectionDocumentSchema.parse({
        tenantId,
        userId,
        provider: 'slack',
        kind: 'oauth2',
        providerAccountId,
        displayName: null,
        scopes: ['chat:write'],
        status: 'active',
        statusReason: null,
        credentials: await sealCredentials(vault, { accessToken, refreshToken }, { connectionId: id, tenantId }),
        expiresAtMs: nowMs + 12 * 3600_000,
        nextRefreshAtMs: nowMs + 11 * 3600_000,
        refresh: { lastRefreshAtMs: null, consecutiveFailures: 0, lastErrorCode: null },
        health: { status: 'unknown', checkedAtMs: null, latencyMs: null, errorCode: null },
        metadata: {},
        connectionConfig: {},
        createdAtMs: nowMs - index,
        updatedAtMs: nowMs - index,
        revokedAtMs: null,
      }),
    };
  };
  await Promise.all(
    Array.from({ length: Math.min(SEAL_CONCURRENCY, count) }, async () => {
      while (next < count) await sealOne(next++);
    }),
  );
  for (let start = 0; start < count; start += BATCH_WRITES) {
    const batch = firestore.batch();
    for (const { id, document } of documents.slice(start, start + BATCH_WRITES)) batch.set(connectionRef(firestore, id), { ...document, ...changeStamp() });
    await batch.commit();
  }
  return { ids: documents.map(({ id }) => id), secrets, credentialsOf };
}
