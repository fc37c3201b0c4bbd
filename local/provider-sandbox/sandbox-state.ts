// The sandbox's memory: registered clients, codes, tokens, per-provider behaviour settings, faults and call counts.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { recordSecret } from '../leak-ledger/leak-recorder.js';

/** Every kind of call the sandbox counts and can fail; `refresh` and `client_credentials` are token-endpoint grants. */
export const sandboxEndpoints = [
  'authorize',
  'token',
  'refresh',
  'client_credentials',
  'revoke',
  'identity',
  'discovery',
  'jwks',
  'request_token',
  'access_token',
  /** The providers' own APIs (provider-apis.ts), which the proxy function calls. */
  'api',
] as const;
export type SandboxEndpoint = (typeof sandboxEndpoints)[number];

export const sandboxFaultSchema = z.discriminatedUnion('kind', [
  /** Answer with this status (500, 503, 429 with Retry-After...). */
  z.object({ kind: z.literal('status'), status: z.number().int().min(400).max(599), retryAfter: z.string().optional() }).strict(),
  /** Never answer: the client's timeout must fire. */
  z.object({ kind: z.literal('hang') }).strict(),
  /**
   * Do the work (rotate the refresh token...) at once, then hold the answer this long: a provider that finished
   * while its client stopped waiting. A client that gives up on it has lost whatever it rotated.
   */
  z.object({ kind: z.literal('stall'), ms: z.number().int().min(1).max(600_000) }).strict(),
  /** HTTP 200 with a body that is not what the provider documents. */
  z.object({ kind: z.literal('malformed') }).strict(),
  /** The provider's own "this grant is dead" answer (Slack's ok:false, Atlassian's 403...). */
  z.object({ kind: z.literal('invalid_grant') }).strict(),
  /** HTTP 200 whose JSON body streams on for `bytes` bytes (no Content-Length): a reader must stop on its own. */
  z.object({ kind: z.literal('oversized'), bytes: z.number().int().min(1).max(16 * 1024 ** 3) }).strict(),
]);
export type SandboxFault = z.infer<typeof sandboxFaultSchema>;

export const providerSettingsSchema = z
  .object({
    /** Access token lifetime; null = the reply carries no expires_in. */
    tokenLifetimeSeconds: z.number().int().min(1).nullable().optional(),
    /** Whether a refresh returns a new refresh token. */
    rotateRefreshTokens: z.boolean().optional(),
    /** Whether a rotated-out refresh token stops working (Atlassian, Zoom, Slack) or keeps working (Microsoft). */
    invalidateRotatedRefreshTokens: z.boolean().optional(),
    /** How long a rotated-out refresh token still works (Atlassian's 10-minute leeway, Auth0's reuse interval); 0 = none. */
    refreshTokenGraceSeconds: z.number().int().min(0).max(86_400).optional(),
    /** Reuse detection (oidc-provider, Auth0): presenting a rotated-out token after its grace revokes the whole grant. */
    revokeGrantOnReuse: z.boolean().optional(),
    /** Delay before every answer of this provider. */
    latencyMs: z.number().int().min(0).max(120_000).optional(),
  })
  .strict();
export type ProviderSettings = z.infer<typeof providerSettingsSchema>;

export const failNextSchema = z
  .object({ endpoint: z.enum(sandboxEndpoints), fault: sandboxFaultSchema, count: z.number().int().min(1).max(1000).default(1) })
  .strict();

/** The body of `POST /__admin/providers/{id}`: the same operations as the typed API, validated the same way. */
export const adminProviderBodySchema = providerSettingsSchema
  .extend({
    /** Standing faults per endpoint until cleared (null clears). */
    faults: z.partialRecord(z.enum(sandboxEndpoints), sandboxFaultSchema.nullable()).optional(),
    /** Faults for the next N calls only, applied before any standing fault, then gone. */
    failNext: z.array(failNextSchema).optional(),
  })
  .strict();

interface LimitedFault {
  readonly fault: SandboxFault;
  remaining: number;
}

export interface ProviderBehaviour {
  tokenLifetimeSeconds: number | null;
  rotateRefreshTokens: boolean;
  invalidateRotatedRefreshTokens: boolean;
  refreshTokenGraceSeconds: number;
  revokeGrantOnReuse: boolean;
  latencyMs: number;
  /** Standing faults, until cleared. */
  readonly faults: Map<SandboxEndpoint, SandboxFault>;
  /** Count-limited faults, in the order they were armed; each is used up call by call. */
  readonly limitedFaults: Map<SandboxEndpoint, LimitedFault[]>;
}

export interface BehaviourDefaults {
  readonly tokenLifetimeSeconds: number | null;
  readonly rotate: boolean;
  /** Defaults to `rotate`: most rotating providers kill the old refresh token. */
  readonly invalidateRotated?: boolean;
}

export interface RegisteredClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
}

export interface IssuedCode {
  readonly provider: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly account: string;
  readonly scope: string;
  readonly codeChallenge?: string;
  readonly nonce?: string;
  readonly extra: Readonly<Record<string, string>>;
}

export interface IssuedGrant {
  readonly provider: string;
  readonly clientId: string;
  readonly account: string;
  readonly scope: string;
  readonly extra: Readonly<Record<string, string>>;
}

export class SandboxState {
  readonly clients = new Map<string, RegisteredClient>();
  readonly behaviours = new Map<string, ProviderBehaviour>();
  readonly codes = new Map<string, IssuedCode>();
  readonly accessTokens = new Map<string, IssuedGrant & { expiresAtMs: number | null }>();
  readonly refreshTokens = new Map<string, IssuedGrant>();
  /** Which grant (family) each refresh token belongs to: reuse detection revokes a family at once. */
  readonly refreshFamilies = new Map<string, string>();
  /** Refresh tokens rotated out, with when: still accepted inside the grace, a reuse after it. */
  readonly rotatedOut = new Map<string, { readonly grant: IssuedGrant; readonly atMs: number }>();
  readonly requestTokens = new Map<string, { clientId: string; secret: string; callback: string; verifier?: string; account?: string }>();
  readonly calls = new Map<string, number>();
  readonly secrets: string[] = [];
  /** Every grant a revocation call ended, in order: which provider account lost it. */
  readonly revokedGrants: { readonly provider: string; readonly account: string }[] = [];

  behaviour(provider: string, defaults: BehaviourDefaults): ProviderBehaviour {
    let behaviour = this.behaviours.get(provider);
    if (!behaviour) {
      behaviour = {
        tokenLifetimeSeconds: defaults.tokenLifetimeSeconds,
        rotateRefreshTokens: defaults.rotate,
        invalidateRotatedRefreshTokens: defaults.invalidateRotated ?? defaults.rotate,
        refreshTokenGraceSeconds: 0,
        revokeGrantOnReuse: false,
        latencyMs: 0,
        faults: new Map(),
        limitedFaults: new Map(),
      };
      this.behaviours.set(provider, behaviour);
    }
    return behaviour;
  }

  /** The fault this call must suffer, if any: a count-limited one first (used up here), else a standing one. */
  takeFault(behaviour: ProviderBehaviour, endpoint: SandboxEndpoint): SandboxFault | undefined {
    const queue = behaviour.limitedFaults.get(endpoint);
    const next = queue?.[0];
    if (queue && next) {
      next.remaining -= 1;
      if (next.remaining === 0) queue.shift();
      if (queue.length === 0) behaviour.limitedFaults.delete(endpoint);
      return next.fault;
    }
    return behaviour.faults.get(endpoint);
  }

  armFault(behaviour: ProviderBehaviour, endpoint: SandboxEndpoint, fault: SandboxFault, count: number): void {
    const queue = behaviour.limitedFaults.get(endpoint) ?? [];
    queue.push({ fault, remaining: count });
    behaviour.limitedFaults.set(endpoint, queue);
  }

  count(provider: string, endpoint: SandboxEndpoint): void {
    const key = `${provider}.${endpoint}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  /** Reuse detected: every refresh token of the family stops working, rotated-out ones included. */
  revokeFamily(family: string): void {
    for (const [token, owner] of this.refreshFamilies) {
      if (owner !== family) continue;
      this.refreshTokens.delete(token);
      this.rotatedOut.delete(token);
    }
  }

  /** A random secret with a recognisable prefix, remembered so leak scanners can look for it. */
  secret(prefix: string): string {
    const value = `${prefix}${randomBytes(24).toString('base64url')}`;
    this.secrets.push(value);
    // Also into the whole-run leak ledger, which outlives reset().
    recordSecret('sandbox:issued', value);
    return value;
  }

  reset(): void {
    this.behaviours.clear();
    this.codes.clear();
    this.accessTokens.clear();
    this.refreshTokens.clear();
    this.refreshFamilies.clear();
    this.rotatedOut.clear();
    this.requestTokens.clear();
    this.calls.clear();
    this.secrets.length = 0;
    this.revokedGrants.length = 0;
  }
}
