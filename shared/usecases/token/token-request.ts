// The token function's request as the server checks it: a strict zod schema, tied at compile time to the wire shape
// the client package declares (client/wire.ts), so the two cannot drift. The answer's shape is the client's as is.
import { z } from 'zod';
import type { TokenRequest as WireTokenRequest } from '../../../client/wire.js';

export type { TokenResponse } from '../../../client/wire.js';

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

// The compile-time tie. Exact equality (readonly and optional modifiers included), after spelling the client's type
// as the schema's input: fields writable, arrays mutable, and `userId` also null, which the server takes as omitted
// (the client never sends it).
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type AsSchemaInput<Wire> = {
  -readonly [Field in keyof Wire]: Field extends 'userId' ? Wire[Field] | null : Wire[Field] extends readonly (infer Item)[] | undefined ? Item[] : Wire[Field];
};
const requestMatchesWire: Equal<z.input<typeof tokenRequestSchema>, AsSchemaInput<WireTokenRequest>> = true;
void requestMatchesWire;
