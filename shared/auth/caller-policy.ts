// Which verified service accounts may do what, for which tenants and providers. Deny by default.
import type { ApiRule, CallerAction, CallerPolicyRule } from '../config/caller-policy-schema.js';
import { BrokerError } from '../errors/broker-error.js';

export interface CallerRequest {
  readonly action: CallerAction;
  readonly tenantId: string;
  /** Absent for requests that are not about one provider (e.g. listing all of a user's connections). */
  readonly provider?: string;
}

/** One call through the proxy, as the policy judges it: the path split into its segments as sent. */
export interface ApiCallRequest {
  readonly tenantId: string;
  readonly provider: string;
  readonly method: string;
  readonly segments: readonly string[];
}

export interface CallerPolicy {
  /** Throws `caller_not_allowed` unless some rule for this caller covers the whole request. */
  authorize(callerEmail: string, request: CallerRequest): void;
  allows(callerEmail: string, request: CallerRequest): boolean;
  /** Whether some rule lets this caller do this action for this tenant, for at least one provider. */
  actsFor(callerEmail: string, action: CallerAction, tenantId: string): boolean;
  /** The first API rule letting this caller make this call (its text is the call's path template), or undefined: denied. */
  apiRuleFor(callerEmail: string, request: ApiCallRequest): ApiRule | undefined;
}

/** Whether a rule's segments cover a path's: `*` one non-empty segment, `**` (last) whatever remains. */
export function apiPathMatches(pattern: readonly string[], segments: readonly string[]): boolean {
  for (const [index, expected] of pattern.entries()) {
    if (expected === '**') return true;
    const actual = segments[index];
    if (actual === undefined || (expected === '*' ? actual === '' : actual !== expected)) return false;
  }
  return pattern.length === segments.length;
}

const covers = (allowed: '*' | readonly string[], value: string) => allowed === '*' || allowed.includes(value);

export function createCallerPolicy(rules: readonly CallerPolicyRule[]): CallerPolicy {
  const byCaller = new Map<string, CallerPolicyRule[]>();
  for (const rule of rules) {
    // Emails are case-insensitive in their domain, and Google issues service-account emails in lower case.
    const key = rule.serviceAccount.toLowerCase();
    byCaller.set(key, [...(byCaller.get(key) ?? []), rule]);
  }
  const allows = (callerEmail: string, request: CallerRequest): boolean =>
    (byCaller.get(callerEmail.toLowerCase()) ?? []).some(
      (rule) =>
        rule.actions.includes(request.action) &&
        covers(rule.tenants, request.tenantId) &&
        // A request about no single provider needs a rule for every provider; lists filter per provider instead.
        (request.provider === undefined ? rule.providers === '*' : covers(rule.providers, request.provider)),
    );
  const actsFor = (callerEmail: string, action: CallerAction, tenantId: string): boolean =>
    (byCaller.get(callerEmail.toLowerCase()) ?? []).some((rule) => rule.actions.includes(action) && covers(rule.tenants, tenantId));
  const apiRuleFor = (callerEmail: string, request: ApiCallRequest): ApiRule | undefined => {
    for (const rule of byCaller.get(callerEmail.toLowerCase()) ?? []) {
      if (!rule.actions.includes('call_api') || !covers(rule.tenants, request.tenantId) || !covers(rule.providers, request.provider)) continue;
      const found = (rule.api?.[request.provider] ?? []).find(
        (api) => (api.methods as readonly string[]).includes(request.method) && apiPathMatches(api.segments, request.segments),
      );
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return Object.freeze({
    allows,
    actsFor,
    apiRuleFor,
    authorize(callerEmail: string, request: CallerRequest) {
      if (!allows(callerEmail, request)) {
        // Says what was refused, not which rules exist: a caller learns nothing about other tenants.
        throw new BrokerError('caller_not_allowed', `This caller may not ${request.action.replaceAll('_', ' ')} here`, {
          details: { action: request.action },
        });
      }
    },
  });
}
