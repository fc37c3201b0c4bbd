// Sealing and opening a connection's credentials, bound to the connection document and tenant they belong to.
import type { PreparedSeal, SealContext, SealedBlob, Vault } from '../crypto/vault.js';
import { BrokerError } from '../errors/broker-error.js';
import { collectionNames } from './collections.js';
import { CREDENTIALS_FIELD, type Credentials, credentialsSchema } from './connection-document.js';

/** The associated data of a connection's sealed credentials: connections/<id>/credentials/<tenant>. */
export function credentialsSealContext(connectionId: string, tenantId: string): SealContext {
  return { collection: collectionNames.connections, documentId: connectionId, field: CREDENTIALS_FIELD, tenantId };
}

export async function sealCredentials(
  vault: Vault,
  credentials: Credentials,
  where: { connectionId: string; tenantId: string },
): Promise<SealedBlob> {
  const checked = credentialsSchema.parse(credentials);
  return vault.seal(JSON.stringify(checked), credentialsSealContext(where.connectionId, where.tenantId));
}

/** Credentials sealed with a data key wrapped ahead of time: storing them after a provider answered needs no KMS. */
export interface PreparedCredentialsSeal {
  seal(credentials: Credentials): SealedBlob;
  discard(): void;
}

export async function prepareCredentialsSeal(
  vault: Vault,
  where: { connectionId: string; tenantId: string },
): Promise<PreparedCredentialsSeal> {
  const prepared: PreparedSeal = await vault.prepareSeal(credentialsSealContext(where.connectionId, where.tenantId));
  return {
    seal: (credentials) => prepared.seal(JSON.stringify(credentialsSchema.parse(credentials))),
    discard: () => prepared.discard(),
  };
}

export async function openCredentials(
  vault: Vault,
  blob: SealedBlob,
  where: { connectionId: string; tenantId: string },
): Promise<Credentials> {
  const plaintext = await vault.open(blob, credentialsSealContext(where.connectionId, where.tenantId));
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext.toString('utf8'));
  } catch {
    // No cause: a JSON.parse message quotes the input, which here is a secret.
    throw new BrokerError('crypto_integrity', 'Sealed credentials opened to something that is not JSON');
  } finally {
    plaintext.fill(0);
  }
  const checked = credentialsSchema.safeParse(parsed);
  if (!checked.success) throw new BrokerError('crypto_integrity', 'Sealed credentials do not have the credentials shape');
  return checked.data;
}
