// The small part of oidc-provider (which ships no types) that the OpenID peer harness and tests use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface PeerAccount {
    accountId: string;
    claims(): Record<string, unknown> | Promise<Record<string, unknown>>;
  }

  interface PeerConfiguration {
    clients?: Record<string, unknown>[];
    features?: Record<string, { enabled: boolean }>;
    claims?: Record<string, string[]>;
    findAccount?: (context: unknown, id: string) => PeerAccount | undefined | Promise<PeerAccount | undefined>;
    pkce?: { required?: (context: unknown, client: unknown) => boolean };
    rotateRefreshToken?: boolean | ((context: unknown) => boolean);
    ttl?: Record<string, number | ((context: unknown, token: unknown, client: unknown) => number)>;
  }

  interface PeerGrant {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }

  interface PeerToken {
    save(): Promise<string>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: PeerConfiguration);
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    on(event: string, listener: (...args: unknown[]) => void): this;
    /** The peer's own models, for minting a consented grant without a browser. */
    readonly Grant: new (fields: { accountId: string; clientId: string }) => PeerGrant;
    readonly Client: { find(clientId: string): Promise<unknown> };
    readonly RefreshToken: new (fields: Record<string, unknown>) => PeerToken;
  }
}
