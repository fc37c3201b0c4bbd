import { describe, expect, it } from 'vitest';
import { createCallerPolicy } from '../../../shared/auth/caller-policy.js';
import { loadConfig } from '../../../shared/config/config.js';
import { isBrokerError } from '../../../shared/errors/broker-error.js';

const billing = 'billing@acme-prod.iam.gserviceaccount.com';
const support = 'support-bot@acme-prod.iam.gserviceaccount.com';

const policy = createCallerPolicy([
  { serviceAccount: billing, tenants: ['acme'], providers: ['salesforce', 'hubspot'], actions: ['read_token'] },
  { serviceAccount: support, tenants: '*', providers: '*', actions: ['connect', 'manage_connections'] },
]);

describe('caller policy', () => {
  it('allows exactly what a rule covers', () => {
    expect(policy.allows(billing, { action: 'read_token', tenantId: 'acme', provider: 'salesforce' })).toBe(true);
    expect(policy.allows(support, { action: 'connect', tenantId: 'globex', provider: 'slack' })).toBe(true);
  });

  it('says whether a caller acts for a tenant in some action, whatever the provider', () => {
    expect(policy.actsFor(billing, 'read_token', 'acme')).toBe(true);
    expect(policy.actsFor(billing.toUpperCase(), 'read_token', 'acme')).toBe(true);
    expect(policy.actsFor(billing, 'read_token', 'globex')).toBe(false);
    expect(policy.actsFor(billing, 'connect', 'acme')).toBe(false);
    expect(policy.actsFor(support, 'manage_connections', 'any-tenant')).toBe(true);
    expect(policy.actsFor('stranger@evil.iam.gserviceaccount.com', 'read_token', 'acme')).toBe(false);
  });

  it('denies other tenants, providers and actions, and unknown callers', () => {
    const denied = [
      [billing, { action: 'read_token', tenantId: 'globex', provider: 'salesforce' }],
      [billing, { action: 'read_token', tenantId: 'acme', provider: 'slack' }],
      [billing, { action: 'connect', tenantId: 'acme', provider: 'salesforce' }],
      [support, { action: 'read_token', tenantId: 'acme', provider: 'slack' }],
      ['stranger@evil.iam.gserviceaccount.com', { action: 'read_token', tenantId: 'acme', provider: 'salesforce' }],
    ] as const;
    for (const [caller, request] of denied) {
      expect(policy.allows(caller, request), `${caller} ${JSON.stringify(request)}`).toBe(false);
      try {
        policy.authorize(caller, request);
        expect.unreachable('authorize should throw');
      } catch (error) {
        expect(isBrokerError(error, 'caller_not_allowed')).toBe(true);
        // The refusal names no tenant, provider or rule.
        expect(String((error as Error).message)).not.toMatch(/acme|globex|salesforce|slack/);
      }
    }
  });

  it('treats a request about no single provider as needing every provider', () => {
    expect(policy.allows(support, { action: 'manage_connections', tenantId: 'acme' })).toBe(true);
    expect(policy.allows(billing, { action: 'read_token', tenantId: 'acme' })).toBe(false);
  });

  it('matches service-account emails case-insensitively', () => {
    expect(policy.allows(billing.toUpperCase(), { action: 'read_token', tenantId: 'acme', provider: 'hubspot' })).toBe(true);
  });

  it('denies everything when no policy is configured', () => {
    const config = loadConfig({ GOOGLE_CLOUD_PROJECT: 'p' });
    const empty = createCallerPolicy(config.callerPolicy);
    expect(empty.allows(billing, { action: 'read_token', tenantId: 'acme', provider: 'salesforce' })).toBe(false);
  });

  it('is loaded from CALLER_POLICY, and a malformed policy stops start-up without echoing it', () => {
    const rules = [{ serviceAccount: billing, tenants: ['acme'], providers: '*', actions: ['read_token'] }];
    const config = loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', CALLER_POLICY: JSON.stringify(rules) });
    expect(createCallerPolicy(config.callerPolicy).allows(billing, { action: 'read_token', tenantId: 'acme', provider: 'x' })).toBe(true);
    for (const bad of ['not json', JSON.stringify([{ ...rules[0], actions: ['everything'] }]), JSON.stringify({})]) {
      expect(() => loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', CALLER_POLICY: bad })).toThrow(/CALLER_POLICY/);
    }
  });
});
