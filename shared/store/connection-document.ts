// The shape of a connection document in Firestore: one zod schema, read through on every load.
import { createHash } from 'node:crypto';
import { Timestamp } from '@google-cloud/firestore';
import { z } from 'zod';
import { sealedBlobSchema } from '../crypto/sealed-blob.js';
import { connectionStatuses } from './connection-status.js';

/** The refresh lease (see lease.ts for how it is claimed, extended and committed). */
export const leaseSchema = z
  .object({
    /** Who holds it; null once released. Unique per claim (instance id + attempt id). */
    holder: z.string().min(1).nullable(),
    expiresAtMs: z.number().int().nonnegative(),
    /** The fencing version: only ever increases, by one per claim. */
    version: z.number().int().positive(),
  })
  .strict();

export type Lease = z.infer<typeof leaseSchema>;

export const connectionKinds = ['oauth2', 'oauth1', 'client_credentials', 'api_key'] as const;
export type ConnectionKind = (typeof connectionKinds)[number];

export const healthStatuses = ['unknown', 'healthy', 'unhealthy'] as const;

/** The secret part of a connection, sealed as one JSON blob in the `credentials` field. */
export const credentialsSchema = z
  .object({
    accessToken: z.string().min(1),
    refreshToken: z.string().min(1).optional(),
    /** OAuth 1.0a token secret. */
    tokenSecret: z.string().min(1).optional(),
    /**
     * The refresh token this one replaced, and when, kept only for providers that document a reuse grace period
     * (see the provider definition's `refresh.reuseGraceSeconds`): the one retry a dead-grant answer may get.
     */
    previousRefreshToken: z.string().min(1).optional(),
    rotatedAtMs: z.number().int().optional(),
  })
  .strict();
export type Credentials = z.infer<typeof credentialsSchema>;

/** Where sealed credentials live: the associated data of their seal (see shared/crypto/seal-context.ts). */
export const CREDENTIALS_FIELD = 'credentials';

export const connectionDocumentSchema = z
  .object({
    tenantId: z.string().min(1),
    /** Null for tenant-level connections (client credentials, API keys for the whole tenant). */
    userId: z.string().min(1).nullable(),
    provider: z.string().min(1),
    kind: z.enum(connectionKinds),
    providerAccountId: z.string().min(1),
    displayName: z.string().nullable(),
    scopes: z.array(z.string()),
    status: z.enum(connectionStatuses),
    statusReason: z.string().nullable(),
    /** Null once revoked: crypto-shredding removes the wrapped key with the ciphertext. */
    credentials: sealedBlobSchema.nullable(),
    /** Access-token expiry; null when the provider's tokens live until revoked. */
    expiresAtMs: z.number().int().nullable(),
    /** When the refresh sweep should look at this connection next (expiry minus margin, or backoff). */
    nextRefreshAtMs: z.number().int().nullable(),
    refresh: z
      .object({
        lastRefreshAtMs: z.number().int().nullable(),
        consecutiveFailures: z.number().int().nonnegative(),
        lastErrorCode: z.string().nullable(),
      })
      .strict(),
    lease: leaseSchema.optional(),
    health: z
      .object({
        status: z.enum(healthStatuses),
        checkedAtMs: z.number().int().nullable(),
        latencyMs: z.number().nonnegative().nullable(),
        errorCode: z.string().nullable(),
      })
      .strict(),
    /** Non-secret provider facts a caller needs (Salesforce instance_url, Slack team id, Microsoft tenant...). */
    metadata: z.record(z.string(), z.string()),
    /** The per-connection provider config it was created with (login host, tenant, FHIR base URL). */
    connectionConfig: z.record(z.string(), z.string()),
    createdAtMs: z.number().int(),
    updatedAtMs: z.number().int(),
    revokedAtMs: z.number().int().nullable(),
    /** When the document last changed, on Firestore's clock: written by connection-change.ts alone, never by hand. */
    changedAt: z.instanceof(Timestamp).optional(),
  })
  .strict();

export type ConnectionDocument = z.infer<typeof connectionDocumentSchema>;

/**
 * The document id of a connection: derived from who and what it is, so reconnecting the same provider
 * account upserts the same document (no twins), while a second Slack workspace gets its own. Hashed so ids
 * carry no user data into URLs and logs.
 */
export function connectionIdFor(parts: {
  tenantId: string;
  userId: string | null;
  provider: string;
  providerAccountId: string;
}): string {
  const canonical = JSON.stringify([parts.tenantId, parts.userId, parts.provider, parts.providerAccountId]);
  // 120 bits of lower-case hex: unique enough, and not shaped like a secret, so logs keep it readable.
  return `conn_${createHash('sha256').update(canonical).digest('hex').slice(0, 30)}`;
}
