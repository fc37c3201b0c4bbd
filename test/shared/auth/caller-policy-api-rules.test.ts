// Per-caller API rules for the proxy: parsed at start-up, matched per provider, method and path; deny by default.
import { describe, expect, it } from 'vitest';
import { createCallerPolicy } from '../../../shared/auth/caller-policy.js';
import { callerPolicySchema } from '../../../shared/config/caller-policy-schema.js';

const mailer = 'mailer@acme.iam.gserviceaccount.com';

function policy(api: Record<string, string[]>, extra: Record<string, unknown> = {}) {
  return createCallerPolicy(
    callerPolicySchema.parse([{ serviceAccount: mailer, tenants: ['t1'], providers: ['google', 'slack'], actions: ['call_api'], api, ...extra }]),
  );
}

const call = (method: string, path: string, provider = 'google', tenantId = 't1') => ({ tenantId, provider, method, segments: path.slice(1).split('/') });

describe('API rules', () => {
  const rules = policy({ google: ['GET /gmail/v1/users/me/messages/**', 'GET,POST /gmail/v1/users/*/drafts'], slack: ['* /chat.postMessage'] });

  it('allows what a rule names and returns the rule as the path template', () => {
    expect(rules.apiRuleFor(mailer, call('GET', '/gmail/v1/users/me/messages'))?.rule).toBe('GET /gmail/v1/users/me/messages/**');
    expect(rules.apiRuleFor(mailer, call('GET', '/gmail/v1/users/me/messages/m1/attachments/a1'))?.rule).toBe('GET /gmail/v1/users/me/messages/**');
    expect(rules.apiRuleFor(mailer, call('POST', '/gmail/v1/users/ann/drafts'))?.rule).toBe('GET,POST /gmail/v1/users/*/drafts');
    expect(rules.apiRuleFor(mailer, call('DELETE', '/chat.postMessage', 'slack'))?.rule).toBe('* /chat.postMessage');
  });

  it('refuses everything else: other methods, paths, providers, tenants and callers', () => {
    expect(rules.apiRuleFor(mailer, call('DELETE', '/gmail/v1/users/me/messages/m1'))).toBeUndefined();
    expect(rules.apiRuleFor(mailer, call('GET', '/gmail/v1/users/me/labels'))).toBeUndefined();
    expect(rules.apiRuleFor(mailer, call('POST', '/gmail/v1/users/ann/bob/drafts'))).toBeUndefined();
    expect(rules.apiRuleFor(mailer, call('POST', '/gmail/v1/users//drafts'))).toBeUndefined();
    expect(rules.apiRuleFor(mailer, call('GET', '/gmail/v1/users/me/messages', 'microsoft'))).toBeUndefined();
    expect(rules.apiRuleFor(mailer, call('GET', '/gmail/v1/users/me/messages', 'google', 't2'))).toBeUndefined();
    expect(rules.apiRuleFor('other@acme.iam.gserviceaccount.com', call('GET', '/gmail/v1/users/me/messages'))).toBeUndefined();
  });

  it('grants nothing through other actions: a rule without call_api allows no API call', () => {
    const reader = createCallerPolicy(callerPolicySchema.parse([{ serviceAccount: mailer, tenants: '*', providers: '*', actions: ['read_token'] }]));
    expect(reader.apiRuleFor(mailer, call('GET', '/gmail/v1/users/me/messages'))).toBeUndefined();
  });

  it.each([
    [{ actions: ['call_api'], api: undefined }, 'the call_api action and api rules go together'],
    [{ actions: ['read_token'], api: { google: ['GET /x'] } }, 'the call_api action and api rules go together'],
    [{ actions: ['call_api'], providers: ['slack'], api: { google: ['GET /x'] } }, 'providers the rule does not cover: google'],
    [{ actions: ['call_api'], api: { google: ['GET gmail'] } }, 'must be "METHODS /path"'],
    [{ actions: ['call_api'], api: { google: ['FETCH /x'] } }, 'unknown method FETCH'],
    [{ actions: ['call_api'], api: { google: ['GET /**/x'] } }, '** must be the last segment'],
    [{ actions: ['call_api'], api: { google: ['GET /a/../b'] } }, 'is not a plain path segment'],
  ])('refuses a policy that cannot mean what it says (%j)', (rule, message) => {
    const parsed = callerPolicySchema.safeParse([{ serviceAccount: mailer, tenants: '*', providers: '*', ...rule }]);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.message).join('\n')).toContain(message);
  });
});
