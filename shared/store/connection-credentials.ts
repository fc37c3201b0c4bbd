// Sealing and opening a connection's credentials, bound to the connection document and tenant they belong to.
import type { SealContext, SealedBlob, Vault } from '../crypto/vault.js';
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
