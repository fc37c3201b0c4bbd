// The normalized result of any token grant, whatever the provider's reply looked like.
import { z } from 'zod';

export const expirySources = ['provider', 'assumed', 'refresh-every', 'never'] as const;

export const tokenSetSchema = z
  .object({
    accessToken: z.string().min(1),
    refreshToken: z.string().min(1).optional(),
    /** OAuth 1.0a only: the token secret that signs requests made with the token. */
    tokenSecret: z.string().min(1).optional(),
    /** Milliseconds since the epoch; absent when the provider's tokens live until revoked. */
    expiresAtMs: z.number().int().optional(),
    /** Where `expiresAtMs` came from: the provider's `expires_in`, or the definition's no-expiry policy. */
    expirySource: z.enum(expirySources),
    /** For `never`: how often a health check should prove the grant still works. */
    healthCheckEverySeconds: z.number().int().optional(),
    /** Scopes the provider says it granted (or, when it does not say, the ones requested: RFC 6749 §5.1). */
    scopes: z.array(z.string()),
    tokenType: z.string().min(1),
    /** Validated claims of an OIDC id_token, when the provider sent one. */
    idTokenClaims: z.record(z.string(), z.unknown()).optional(),
    /** Non-secret per-connection facts (Salesforce instance_url, Slack team id...). */
    metadata: z.record(z.string(), z.string()),
  })
  .strict();
export type TokenSet = z.infer<typeof tokenSetSchema>;

export const connectedGrantSchema = tokenSetSchema.extend({
  providerAccountId: z.string().min(1),
  displayName: z.string().optional(),
  /** Present when the grant asked for a refresh token: whether one came (`missing`: it will die with its access token). */
  offlineAccess: z.enum(['granted', 'missing']).optional(),
});
/** A code exchange's result: the tokens plus the provider account they belong to. */
export type ConnectedGrant = z.infer<typeof connectedGrantSchema>;

/** The client registered at the provider, from config (see PROVIDER_<ID>_CLIENT_ID / _CLIENT_SECRET). */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret?: string;
}
