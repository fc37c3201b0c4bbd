// A value sealed as JSON and checked against its schema when it is opened: the one way a sealed record is read back.
import type { z } from 'zod';
import { BrokerError } from '../errors/broker-error.js';
import type { SealContext, SealedBlob, Vault } from './vault.js';

export function sealJson<T>(vault: Vault, schema: z.ZodType<T>, value: T, context: SealContext): Promise<SealedBlob> {
  return vault.seal(JSON.stringify(schema.parse(value)), context);
}

/**
 * Opens the blob and parses it with the schema. What opens to something else was not sealed by this code for this
 * place: `crypto_integrity`, never retried. `what` names the record in the message; nothing of its content does.
 */
export async function openSealedJson<T>(vault: Vault, blob: SealedBlob, schema: z.ZodType<T>, context: SealContext, what: string): Promise<T> {
  const plaintext = await vault.open(blob, context);
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext.toString('utf8'));
  } catch {
    // No cause: a JSON.parse message quotes the input, which here is a secret.
    throw new BrokerError('crypto_integrity', `A sealed ${what} opened to something that is not JSON`);
  } finally {
    plaintext.fill(0);
  }
  const checked = schema.safeParse(parsed);
  if (!checked.success) throw new BrokerError('crypto_integrity', `A sealed ${what} does not have the expected shape`);
  return checked.data;
}
