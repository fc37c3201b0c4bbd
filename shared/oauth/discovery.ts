// Authorization server metadata (RFC 8414, OpenID Connect, SMART App Launch) with exact issuer match and a cache.
import { processDiscoveryResponse } from 'oauth4webapi';
import { z } from 'zod';
import { BrokerError } from '../errors/broker-error.js';
import type { EndpointBoundary } from '../providers/endpoint-boundary.js';
import type { Clock } from '../time/clock.js';
import { type ProviderHttp, sendProviderRequest } from './provider-http.js';
import { malformedFailure, unavailableFailure, statedFailure } from './provider-failure.js';

export const discoveryKinds = ['oidc', 'oauth', 'smart'] as const;
export type DiscoveryKind = (typeof discoveryKinds)[number];

const metadataSchema = z
  .object({
    issuer: z.string().optional(),
    authorization_endpoint: z.string().url(),
    token_endpoint: z.string().url(),
    revocation_endpoint: z.string().url().optional(),
    userinfo_endpoint: z.string().url().optional(),
    jwks_uri: z.string().url().optional(),
    code_challenge_methods_supported: z.array(z.string()).optional(),
    id_token_signing_alg_values_supported: z.array(z.string()).optional(),
    authorization_response_iss_parameter_supported: z.boolean().optional(),
    scopes_supported: z.array(z.string()).optional(),
    capabilities: z.array(z.string()).optional(),
  })
  .loose();
export type ServerMetadata = z.infer<typeof metadataSchema>;

/** Where each kind of document lives for an issuer (RFC 8414 §3.1 inserts the well-known segment before the path). */
export function discoveryUrl(kind: DiscoveryKind, issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  if (kind === 'oauth') return `${url.origin}/.well-known/oauth-authorization-server${path}`;
  const suffix = kind === 'oidc' ? 'openid-configuration' : 'smart-configuration';
  return `${url.origin}${path}/.well-known/${suffix}`;
}

interface CacheEntry {
  readonly expiresAtMs: number;
  readonly metadata: Promise<ServerMetadata>;
}

export const DISCOVERY_CACHE_TTL_MS = 60 * 60 * 1000;

/** Caches metadata per (kind, issuer); concurrent callers share one fetch and a failure is not cached. */
export class DiscoveryCache {
  readonly #entries = new Map<string, CacheEntry>();
  readonly #clock: Clock;
  readonly #ttlMs: number;

  constructor(clock: Clock, ttlMs = DISCOVERY_CACHE_TTL_MS) {
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  get(kind: DiscoveryKind, issuer: string, load: () => Promise<ServerMetadata>): Promise<ServerMetadata> {
    const key = `${kind} ${issuer}`;
    const cached = this.#entries.get(key);
    if (cached && cached.expiresAtMs > this.#clock.nowMs()) return cached.metadata;
    const metadata = load();
    this.#entries.set(key, { expiresAtMs: this.#clock.nowMs() + this.#ttlMs, metadata });
    metadata.catch(() => {
      if (this.#entries.get(key)?.metadata === metadata) this.#entries.delete(key);
    });
    return metadata;
  }

  clear(): void {
    this.#entries.clear();
  }
}

export interface DiscoveryDependencies {
  readonly http: ProviderHttp;
  readonly clock: Clock;
}

/** Fetches and validates one metadata document; the issuer must equal `issuer` character for character. */
export async function discoverServerMetadata(
  deps: DiscoveryDependencies,
  kind: DiscoveryKind,
  issuer: string,
  boundary: EndpointBoundary,
): Promise<ServerMetadata> {
  const provider = boundary.provider;
  const failure = { operation: 'discovery', provider, deadGrantErrors: [] } as const;
  const reply = await sendProviderRequest(deps.http, boundary, {
    method: 'GET',
    url: discoveryUrl(kind, issuer),
    headers: { accept: 'application/json' },
  });
  if (reply.status === 429 || reply.status >= 500) throw unavailableFailure(reply.status, reply.headers, deps.clock, failure);
  if (reply.status !== 200) throw statedFailure(reply.status, undefined, failure);
  let body: unknown;
  if (kind === 'smart') {
    try {
      body = JSON.parse(reply.body);
    } catch {
      throw malformedFailure(failure);
    }
  } else {
    try {
      // oauth4webapi checks status, content type and the issuer (as URLs); we add the exact string match below.
      body = await processDiscoveryResponse(new URL(issuer), new Response(reply.body, { status: reply.status, headers: reply.headers }));
    } catch (error) {
      if (isIssuerComparison(error)) throw issuerMismatch(provider, issuer);
      throw malformedFailure(failure);
    }
  }
  const parsed = metadataSchema.safeParse(body);
  if (!parsed.success) throw malformedFailure(failure);
  // SMART documents name an issuer only when they support OpenID Connect; when present it must match too.
  if (parsed.data.issuer !== undefined ? parsed.data.issuer !== issuer : kind !== 'smart') throw issuerMismatch(provider, issuer);
  return parsed.data;
}

function isIssuerComparison(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED';
}

function issuerMismatch(provider: string, issuer: string): BrokerError {
  return new BrokerError('issuer_mismatch', 'The discovery document names a different issuer than expected', {
    details: { provider, expectedIssuer: issuer },
  });
}
