// The checks every cell ends with, read straight from the emulator and the sandbox: no half-written connection or
// flow, no lost refresh token, no secret in a response or a log line.
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import { refreshGrant } from '../../../shared/oauth/grants.js';
import { createProviderCatalog } from '../../../shared/providers/registry.js';
import { authFlowSchema } from '../../../shared/store/auth-flows.js';
import { collectionNames } from '../../../shared/store/collections.js';
import { openCredentials } from '../../../shared/store/connection-credentials.js';
import { connectionDocumentSchema } from '../../../shared/store/connection-document.js';
import type { MatrixStack } from './matrix-stack.js';

/**
 * Every connection parses, holds sealed credentials that open for it (unless revoked), and holds no live lease once
 * the path answered; every flow is either untouched (secrets kept, not consumed) or spent (consumed, secrets gone).
 */
export async function findHalfWrittenRecords(stack: MatrixStack): Promise<string[]> {
  const problems: string[] = [];
  const nowMs = Date.now();
  for (const doc of (await stack.firestore.collection(collectionNames.connections).get()).docs) {
    const parsed = connectionDocumentSchema.safeParse(doc.data());
    if (!parsed.success) {
      problems.push(`connection ${doc.id} does not match its schema`);
      continue;
    }
    const document = parsed.data;
    if (document.status !== 'revoked') {
      if (document.credentials === null) {
        problems.push(`connection ${doc.id} is ${document.status} without sealed credentials`);
      } else {
        await openCredentials(stack.vault, document.credentials, { connectionId: doc.id, tenantId: document.tenantId }).catch((error: unknown) => {
          problems.push(`connection ${doc.id}: its sealed credentials do not open (${isBrokerError(error) ? error.code : 'internal'})`);
        });
      }
    }
    const lease = document.lease;
    if (lease !== undefined && lease.holder !== null && lease.expiresAtMs > nowMs) problems.push(`connection ${doc.id} still has a live refresh lease`);
  }
  for (const doc of (await stack.firestore.collection(collectionNames.authFlows).get()).docs) {
    const parsed = authFlowSchema.safeParse(doc.data());
    if (!parsed.success) {
      problems.push(`flow ${doc.id.slice(0, 12)} does not match its schema`);
      continue;
    }
    if ((parsed.data.consumedAtMs === null) !== (parsed.data.secrets !== null)) problems.push(`flow ${doc.id.slice(0, 12)} is half-consumed`);
  }
  return problems;
}

export interface KeptTokenExpectation {
  readonly connectionId: string;
  /** The refresh token the connection held before the cell. */
  readonly originalRefreshToken: string | undefined;
  /** The cell's provider rotated the refresh token: the stored one must be the new one. */
  readonly expectRotated: boolean;
}

/**
 * The connection's stored refresh token, opened through the vault, still works at the sandbox: proven by using it,
 * so run this last. A provider that invalidates rotated-out tokens turns a token the broker failed to keep into a
 * dead grant here.
 */
export async function findLostRefreshToken(stack: MatrixStack, expectation: KeptTokenExpectation): Promise<string[]> {
  const snapshot = await stack.firestore.collection(collectionNames.connections).doc(expectation.connectionId).get();
  const parsed = connectionDocumentSchema.safeParse(snapshot.data());
  if (!parsed.success || parsed.data.credentials === null) return [`connection ${expectation.connectionId} has no stored credentials to check`];
  const document = parsed.data;
  const credentials = await openCredentials(stack.vault, document.credentials as NonNullable<typeof document.credentials>, {
    connectionId: expectation.connectionId,
    tenantId: document.tenantId,
  });
  if (credentials.refreshToken === undefined) return ['the stored credentials lost their refresh token'];
  const problems: string[] = [];
  if (expectation.expectRotated && credentials.refreshToken === expectation.originalRefreshToken) {
    problems.push('the provider rotated the refresh token but the connection still stores the old one');
  }
  try {
    await refreshGrant(stack.oauth, createProviderCatalog().resolve(document.provider), {
      client: stack.client,
      refreshToken: credentials.refreshToken,
      scopes: document.scopes,
      connectionConfig: document.connectionConfig,
    });
  } catch (error) {
    problems.push(`the stored refresh token is lost: the provider refuses it (${isBrokerError(error) ? error.code : 'internal'})`);
  }
  return problems;
}

/** Which of `secrets` appear in `texts`; named by position only, so a failure report does not leak them either. */
export function findLeakedSecrets(texts: readonly string[], secrets: readonly string[]): string[] {
  const haystack = texts.join('\n');
  return secrets.flatMap((secret, index) =>
    haystack.includes(secret) ? [`secret #${index + 1} of ${secrets.length} (${secret.slice(0, 6)}...) appears in a response or log line`] : [],
  );
}
