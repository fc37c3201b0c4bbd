// The shape of an operator-defined OpenID provider (OIDC_PROVIDERS): an id, a name, an issuer; discovery does the rest.
import { z } from 'zod';

export const oidcProviderSettingsSchema = z
  .object({
    /** The provider id callers use; lower_snake_case like the built-in ones, and unique in the catalog. */
    id: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, 'must be lower_snake_case, 2-40 characters'),
    displayName: z.string().min(1).max(80),
    /** The issuer identifier; its discovery document must name exactly this issuer. */
    issuer: z
      .string()
      .url()
      .refine((value) => value.startsWith('https://') && !value.includes('?') && !value.includes('#'), 'must be an https URL without query or fragment'),
    /** Scopes asked for besides `openid`. */
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token')).default([]),
    clientAuthentication: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
  })
  .strict();
export type OidcProviderSettings = z.input<typeof oidcProviderSettingsSchema>;

export const oidcProvidersSchema = z.array(oidcProviderSettingsSchema).refine(
  (providers) => new Set(providers.map((p) => p.id)).size === providers.length,
  'ids must be unique',
);
