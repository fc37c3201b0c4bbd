// The sandbox's memory: registered clients, codes, tokens, per-provider behaviour settings, faults and call counts.
import { randomBytes } from 'node:crypto';

export type SandboxFault =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter?: string }
  | { readonly kind: 'hang' }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'invalid_grant' };

export interface ProviderBehaviour {
  /** Access token lifetime; null = the reply carries no expires_in. */
  tokenLifetimeSeconds: number | null;
  rotateRefreshTokens: boolean;
  latencyMs: number;
  /** Faults by endpoint kind (token, refresh, revoke, identity, authorize, request_token, access_token). */
  faults: Map<string, SandboxFault>;
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
  readonly requestTokens = new Map<string, { clientId: string; secret: string; callback: string; verifier?: string; account?: string }>();
  readonly calls = new Map<string, number>();
  readonly secrets: string[] = [];

  behaviour(provider: string, defaults: { tokenLifetimeSeconds: number | null; rotate: boolean }): ProviderBehaviour {
    let behaviour = this.behaviours.get(provider);
    if (!behaviour) {
      behaviour = { tokenLifetimeSeconds: defaults.tokenLifetimeSeconds, rotateRefreshTokens: defaults.rotate, latencyMs: 0, faults: new Map() };
      this.behaviours.set(provider, behaviour);
    }
    return behaviour;
  }

  count(provider: string, endpoint: string): void {
    const key = `${provider}.${endpoint}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  /** A random secret with a recognisable prefix, remembered so leak scanners can look for it. */
  secret(prefix: string): string {
    const value = `${prefix}${randomBytes(24).toString('base64url')}`;
    this.secrets.push(value);
    return value;
  }

  reset(): void {
    this.behaviours.clear();
    this.codes.clear();
    this.accessTokens.clear();
    this.refreshTokens.clear();
    this.requestTokens.clear();
    this.calls.clear();
    this.secrets.length = 0;
  }
}
