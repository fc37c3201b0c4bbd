// One revocation call at the provider with the broker's client, shared by disconnect and the retry of a pending revocation.
import { type RevocationOutcome, revokeGrant } from '../../oauth/revocation.js';
import type { ConnectionConfig } from '../../providers/connection-config.js';
import type { ProviderDefinition } from '../../providers/definition-schema.js';
import type { RevocationToken } from '../../store/pending-revocations.js';
import type { BrokerRuntime } from '../broker-runtime.js';
import { providerClient } from '../connect/provider-client.js';
import { retryDelayMs } from '../refresh/refresh-backoff.js';

export interface TokensToRevoke {
  readonly accessToken: string;
  readonly refreshToken?: string;
}

/**
 * The one token revokeGrant sends (revocation.ts picks it the same way): revoking a refresh token ends the whole
 * grant, so it is preferred where the provider takes it. Only this token is kept for a retry, nothing more.
 */
export function tokenToRevoke(provider: ProviderDefinition, tokens: TokensToRevoke): RevocationToken {
  const which = provider.revocation.kind === 'none' ? 'access_token' : provider.revocation.token;
  return which === 'refresh_token_else_access_token' && tokens.refreshToken !== undefined
    ? { token: tokens.refreshToken, hint: 'refresh_token' }
    : { token: tokens.accessToken, hint: 'access_token' };
}

/** The input that makes revokeGrant send exactly this token again, with the same hint. */
export function tokensFor(token: RevocationToken): TokensToRevoke {
  return token.hint === 'refresh_token' ? { accessToken: token.token, refreshToken: token.token } : { accessToken: token.token };
}

export function revokeWithToken(
  runtime: BrokerRuntime,
  provider: ProviderDefinition,
  connectionConfig: ConnectionConfig,
  tokens: TokensToRevoke,
): Promise<RevocationOutcome> {
  return revokeGrant(runtime.oauth(), provider, {
    client: providerClient(runtime, provider),
    accessToken: tokens.accessToken,
    ...(tokens.refreshToken === undefined ? {} : { refreshToken: tokens.refreshToken }),
    connectionConfig,
  });
}

/** A provider that is down for minutes or hours is asked again at a widening, jittered interval, never sooner than its Retry-After. */
export function revocationRetryDelayMs(failures: number, retryAfterSeconds: number | undefined, random: () => number): number {
  return retryDelayMs(failures, retryAfterSeconds, { baseMs: 60_000, maxMs: 6 * 3600 * 1000 }, random);
}
