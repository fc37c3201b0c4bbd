// Connections for tests and benchmarks, written straight to Firestore: a real grant from the sandbox, sealed with the real vault.
import type { Firestore } from '@google-cloud/firestore';
import { validateAuthorizationResponse } from '../../shared/oauth/authorization-response.js';
import { buildAuthorizationRequest } from '../../shared/oauth/authorization-request.js';
import { exchangeCode } from '../../shared/oauth/grants.js';
import { createOAuthRuntime } from '../../shared/oauth/oauth-runtime.js';
import { routeProviderUrl } from '../../shared/oauth/origin-overrides.js';
import type { ClientCredentials, ConnectedGrant } from '../../shared/oauth/token-set.js';
import { parseConnectionConfig } from '../../shared/providers/connection-config.js';
import { createProviderCatalog } from '../../shared/providers/registry.js';
import type { Vault } from '../../shared/crypto/vault.js';
import {
  type ConnectionDocument,
  type ConnectionKind,
  type Credentials,
  connectionDocumentSchema,
  connectionIdFor,
} from '../../shared/store/connection-document.js';
import { changeStamp } from '../../shared/store/connection-change.js';
import { openCredentials, sealCredentials } from '../../shared/store/connection-credentials.js';
import { connectionRef, readConnection, type StoredConnection } from '../../shared/store/connection-reads.js';
import { SANDBOX_ENDPOINT_ALLOWLIST } from '../../local/provider-sandbox/profiles.js';
import type { ProviderSandbox } from '../../local/provider-sandbox/provider-sandbox.js';

export const FIXTURE_REDIRECT_URI = 'https://broker.example.test/callback';

/** Registers a client for `provider` at the sandbox; returns it and the PROVIDER_<ID>_CLIENT_* variables naming it. */
/** The fixture client of `provider`, and the settings that give it to the broker; registered nowhere yet. */
export function sandboxClientOf(provider: string): { client: Required<ClientCredentials>; env: Record<string, string> } {
  const client = { clientId: `${provider}-client`, clientSecret: `${provider}-secret-${'s'.repeat(16)}` };
  const prefix = `PROVIDER_${provider.toUpperCase()}_CLIENT`;
  return { client, env: { [`${prefix}_ID`]: client.clientId, [`${prefix}_SECRET`]: client.clientSecret } };
}

export function registerSandboxClient(sandbox: ProviderSandbox, provider: string): { client: Required<ClientCredentials>; env: Record<string, string> } {
  const fixture = sandboxClientOf(provider);
  sandbox.registerClient(provider, { ...fixture.client, redirectUris: [FIXTURE_REDIRECT_URI] });
  return fixture;
}

export interface ConnectionInput {
  readonly tenantId: string;
  readonly userId: string | null;
  readonly provider: string;
  readonly providerAccountId: string;
  readonly kind?: ConnectionKind;
  readonly credentials: Credentials;
  readonly expiresAtMs: number | null;
  readonly scopes?: readonly string[];
  readonly metadata?: Readonly<Record<string, string>>;
  readonly connectionConfig?: Readonly<Record<string, string>>;
  readonly status?: ConnectionDocument['status'];
  readonly nowMs?: number;
}

/** Writes a connection document that passes the schema, with its credentials sealed where they live. */
export async function writeConnection(firestore: Firestore, vault: Vault, input: ConnectionInput): Promise<string> {
  const id = connectionIdFor(input);
  const nowMs = input.nowMs ?? Date.now();
  const document: ConnectionDocument = connectionDocumentSchema.parse({
    tenantId: input.tenantId,
    userId: input.userId,
    provider: input.provider,
    kind: input.kind ?? 'oauth2',
    providerAccountId: input.providerAccountId,
    displayName: null,
    scopes: [...(input.scopes ?? [])],
    status: input.status ?? 'active',
    statusReason: null,
    credentials: await sealCredentials(vault, input.credentials, { connectionId: id, tenantId: input.tenantId }),
    expiresAtMs: input.expiresAtMs,
    nextRefreshAtMs: input.expiresAtMs,
    refresh: { lastRefreshAtMs: null, consecutiveFailures: 0, lastErrorCode: null },
    health: { status: 'unknown', checkedAtMs: null, latencyMs: null, errorCode: null },
    metadata: { ...(input.metadata ?? {}) },
    connectionConfig: { ...(input.connectionConfig ?? {}) },
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    revokedAtMs: null,
  });
  // Stamped as the broker's own writes are, so token caches hear of it (shared/store/connection-change.ts).
  await connectionRef(firestore, id).set({ ...document, ...changeStamp() });
  return id;
}

export interface SandboxConnectionInput {
  readonly firestore: Firestore;
  readonly vault: Vault;
  readonly sandbox: ProviderSandbox;
  readonly client: ClientCredentials;
  readonly provider: string;
  readonly tenantId: string;
  readonly userId: string | null;
  /** The sandbox account that consents; `alice` by default. */
  readonly account?: string;
  readonly scopes?: readonly string[];
  readonly connectionConfig?: Readonly<Record<string, string>>;
}

/** Runs the real authorization-code flow against the sandbox and stores the grant it yields. */
export async function connectAtSandbox(input: SandboxConnectionInput): Promise<{ connectionId: string; grant: ConnectedGrant }> {
  const runtime = createOAuthRuntime({ overrides: new Map(Object.entries(input.sandbox.originOverrides)), timeoutMs: 5_000 });
  const provider = createProviderCatalog([], SANDBOX_ENDPOINT_ALLOWLIST).resolve(input.provider);
  const connectionConfig = parseConnectionConfig(provider, input.connectionConfig ?? {});
  const state = runtime.ids.secretToken(24);
  const request = await buildAuthorizationRequest(runtime, provider, {
    clientId: input.client.clientId,
    redirectUri: FIXTURE_REDIRECT_URI,
    scopes: input.scopes ?? [],
    state,
    connectionConfig,
  });
  const scripted = new URL(request.url);
  scripted.searchParams.set('sandbox_decision', 'approve');
  scripted.searchParams.set('sandbox_account', input.account ?? 'alice');
  const consent = await fetch(routeProviderUrl(scripted.href, runtime.http.overrides), { redirect: 'manual' });
  const params = new URL(consent.headers.get('location') ?? 'about:blank').searchParams;
  const { code } = await validateAuthorizationResponse(runtime, provider, { params, expectedState: state, connectionConfig });
  const grant = await exchangeCode(runtime, provider, {
    client: input.client,
    code,
    redirectUri: FIXTURE_REDIRECT_URI,
    requestedScopes: request.scopes,
    connectionConfig,
    ...(request.codeVerifier ? { codeVerifier: request.codeVerifier } : {}),
    ...(request.nonce ? { nonce: request.nonce } : {}),
  });
  const connectionId = await writeConnection(input.firestore, input.vault, {
    tenantId: input.tenantId,
    userId: input.userId,
    provider: input.provider,
    providerAccountId: grant.providerAccountId,
    credentials: {
      accessToken: grant.accessToken,
      ...(grant.refreshToken === undefined ? {} : { refreshToken: grant.refreshToken }),
    },
    expiresAtMs: grant.expiresAtMs ?? null,
    scopes: grant.scopes,
    metadata: grant.metadata,
    connectionConfig,
  });
  return { connectionId, grant };
}

/** Makes the stored token look like it expires at `expiresAtMs` (the provider's copy is untouched). */
export async function setStoredExpiry(firestore: Firestore, connectionId: string, expiresAtMs: number | null): Promise<void> {
  await connectionRef(firestore, connectionId).update({ expiresAtMs, nextRefreshAtMs: expiresAtMs, ...changeStamp() });
}

/** The connection as stored, with its credentials opened: what a test compares against the provider. */
export async function readStoredConnection(
  firestore: Firestore,
  vault: Vault,
  connectionId: string,
): Promise<{ connection: StoredConnection; credentials: Credentials }> {
  const connection = await readConnection(firestore, connectionId);
  if (connection === undefined || connection.document.credentials === null) throw new Error(`connection ${connectionId} has no credentials`);
  return { connection, credentials: await openCredentials(vault, connection.document.credentials, { connectionId, tenantId: connection.document.tenantId }) };
}
