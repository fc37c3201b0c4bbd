// The token function's request and response shapes: one zod schema each, the types inferred.
import { z } from 'zod';

/** The longest validity a caller may ask for; a provider's tokens may live shorter (then the freshest one is served). */
export const MAX_MIN_VALIDITY_SECONDS = 1800;

const identifier = z.string().min(1).max(256);

export const tokenRequestSchema = z
  .object({
    tenantId: identifier,
    /** Omitted or null: the tenant-level connection (client credentials, a tenant-wide API key). */
    userId: identifier.nullable().optional(),
    provider: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, 'must be a provider id'),
    /** The provider account (Slack team, Google email...) when the user connected several. */
    accountId: identifier.optional(),
    minValiditySeconds: z.number().int().min(0).max(MAX_MIN_VALIDITY_SECONDS).optional(),
    requiredScopes: z.array(z.string().min(1).max(512)).max(100).optional(),
  })
  .strict();
export type TokenRequest = z.infer<typeof tokenRequestSchema>;

export const tokenResponseSchema = z
  .object({
    accessToken: z.string().min(1),
    tokenType: z.string().min(1),
    /** ISO 8601; null when the provider's token lives until revoked. */
    expiresAt: z.string().nullable(),
    scopes: z.array(z.string()),
    connectionId: z.string(),
    providerAccountId: z.string(),
    metadata: z.record(z.string(), z.string()),
  })
  .strict();
export type TokenResponse = z.infer<typeof tokenResponseSchema>;
