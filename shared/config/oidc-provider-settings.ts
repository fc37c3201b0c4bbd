// The shape of an operator-defined OpenID provider (OIDC_PROVIDERS): an id, a name, an issuer; discovery does the rest.
import { z } from 'zod';
import { isHttpsOrLoopbackHttp } from './loopback-url.js';

/** Parameters the broker sets itself; a configured provider may not replace them (PKCE, state and nonce would break). */
export const reservedAuthorizationParams = [
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'scope',
  'code_challenge',
  'code_challenge_method',
  'nonce',
] as const;

/** Extra authorization request parameters (`prompt`, `access_type`, `audience`...), fixed per provider. */
export const authorizationParamsSchema = z
  .record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a lower_snake_case parameter name'), z.string().min(1).max(512).regex(/^[^{}]*$/, 'must be a plain value (no template braces)'))
  .refine((params) => !Object.keys(params).some((name) => (reservedAuthorizationParams as readonly string[]).includes(name)), {
    message: `must not set ${reservedAuthorizationParams.join(', ')}: the broker sets those`,
  });

export const oidcProviderSettingsSchema = z
  .object({
    /** The provider id callers use; lower_snake_case like the built-in ones, and unique in the catalog. */
    id: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, 'must be lower_snake_case, 2-40 characters'),
    displayName: z.string().min(1).max(80),
    /** The issuer identifier; its discovery document must name exactly this issuer. */
    issuer: z
      .string()
      .url()
      .refine(
        (value) => isHttpsOrLoopbackHttp(new URL(value)) && !value.includes('?') && !value.includes('#'),
        'must be an https URL (http only on loopback: 127.0.0.1, [::1], localhost) without query or fragment',
      ),
    /** Scopes asked for besides `openid`. */
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token')).default([]),
    clientAuthentication: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
    /**
     * Sent with every authorization request. Unset, `prompt=consent` goes with a request for `offline_access`, since
     * OpenID Connect Core §11 lets a provider ignore offline_access without it; set `prompt` here to choose otherwise.
     */
    authorizationParams: authorizationParamsSchema.default({}),
  })
  .strict();
export type OidcProviderSettings = z.input<typeof oidcProviderSettingsSchema>;

export const oidcProvidersSchema = z.array(oidcProviderSettingsSchema).refine(
  (providers) => new Set(providers.map((p) => p.id)).size === providers.length,
  'ids must be unique',
);
