// The secret half of a flow record (provider URL with the state, PKCE verifier, nonce, OAuth 1.0a request
// token secret), sealed as one blob bound to the flow document and tenant.
import { z } from 'zod';
import type { SealContext, SealedBlob, Vault } from '../../crypto/vault.js';
import { BrokerError } from '../../errors/broker-error.js';
import { FLOW_SECRETS_FIELD } from '../../store/auth-flows.js';
import { collectionNames } from '../../store/collections.js';

export const flowSecretsSchema = z
  .object({
    /** Where the start step sends the browser; it carries the state. Absent until the OAuth 1.0a start step ran. */
    authorizationUrl: z.string().min(1).optional(),
    codeVerifier: z.string().min(1).optional(),
    nonce: z.string().min(1).optional(),
    /** OAuth 1.0a: the oauth_callback (carrying the state) the start step asks the provider's request token for. */
    oauth1CallbackUrl: z.string().min(1).optional(),
    requestToken: z.string().min(1).optional(),
    requestTokenSecret: z.string().min(1).optional(),
  })
  .strict()
  .refine((secrets) => secrets.authorizationUrl !== undefined || secrets.oauth1CallbackUrl !== undefined, {
    message: 'a flow needs an authorization URL or an OAuth 1.0a callback URL',
  });
export type FlowSecrets = z.infer<typeof flowSecretsSchema>;

function flowSealContext(flowId: string, tenantId: string): SealContext {
  return { collection: collectionNames.authFlows, documentId: flowId, field: FLOW_SECRETS_FIELD, tenantId };
}

export function sealFlowSecrets(vault: Vault, secrets: FlowSecrets, where: { flowId: string; tenantId: string }): Promise<SealedBlob> {
  return vault.seal(JSON.stringify(flowSecretsSchema.parse(secrets)), flowSealContext(where.flowId, where.tenantId));
}

/**
 * Wraps a data key bound to the flow with KMS and drops it: proof that KMS answers right now. The callback asks for
 * it before spending the authorization code, so a KMS outage fails the flow before the provider issues a grant the
 * broker could not seal (an unheld grant still counts against providers' per-user token limits).
 */
export async function checkSealingAvailable(vault: Vault, where: { flowId: string; tenantId: string }): Promise<void> {
  (await vault.prepareSeal(flowSealContext(where.flowId, where.tenantId))).discard();
}

export async function openFlowSecrets(vault: Vault, blob: SealedBlob, where: { flowId: string; tenantId: string }): Promise<FlowSecrets> {
  const plaintext = await vault.open(blob, flowSealContext(where.flowId, where.tenantId));
  try {
    const parsed = flowSecretsSchema.safeParse(JSON.parse(plaintext.toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // Falls through: a JSON.parse message would quote the secret input.
  } finally {
    plaintext.fill(0);
  }
  throw new BrokerError('crypto_integrity', 'Sealed flow secrets do not have the expected shape');
}
