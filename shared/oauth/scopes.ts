// Which scopes a connection asks for: the provider's defaults plus the caller's, each checked against what it offers.
import { BrokerError } from '../errors/broker-error.js';
import type { ProviderDefinition } from '../providers/definition-schema.js';

/** What a grant may ask for: the provider's user scopes, or the app-only ones of its client credentials section. */
export type ScopePolicy = Pick<ProviderDefinition['scopes'], 'defaults' | 'allowed'>;

export function requestedScopes(provider: ProviderDefinition, callerScopes: readonly string[], policy: ScopePolicy = provider.scopes): string[] {
  const { allowed } = policy;
  const rejected = callerScopes.filter((scope) => {
    if (allowed.kind === 'list') return !allowed.values.includes(scope);
    if (allowed.kind === 'pattern') return !new RegExp(`^(?:${allowed.pattern.source})$`, allowed.pattern.flags).test(scope);
    return true;
  });
  if (rejected.length > 0) {
    throw new BrokerError('invalid_scope', `${provider.displayName} does not offer some requested scopes`, {
      details: { provider: provider.id, scopes: rejected.slice(0, 20) },
    });
  }
  return [...new Set([...policy.defaults, ...callerScopes])];
}

/** Splits a granted-scope string the way the provider writes it. */
export function splitGrantedScopes(provider: ProviderDefinition, scope: string): string[] {
  const separator = provider.scopes.responseSeparator ?? provider.scopes.separator ?? ' ';
  return scope.split(separator === ' ' ? /\s+/ : separator).map((s) => s.trim()).filter((s) => s !== '');
}

/** Whether a grant for these scopes asked the provider for a refresh token (see the definition's `offlineAccess`). */
export function asksForOfflineAccess(provider: ProviderDefinition, scopes: readonly string[]): boolean {
  const offline = provider.offlineAccess;
  if (offline === undefined || !provider.refresh.supported) return false;
  return offline.scope === undefined || scopes.includes(offline.scope);
}
