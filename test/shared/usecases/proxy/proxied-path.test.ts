// The proxy's path checks: what may be appended to a provider's API base, and the URL that results.
import { describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../../shared/errors/broker-error.js';
import { forwardedUrl, parseProxiedPath } from '../../../../shared/usecases/proxy/proxied-path.js';

function refusal(target: string): unknown {
  try {
    parseProxiedPath(target);
  } catch (error) {
    if (isBrokerError(error, 'invalid_proxy_path')) return error.details?.reason;
    throw error;
  }
  return 'accepted';
}

describe('parseProxiedPath', () => {
  it('splits the provider, the API path (as sent) and the query', () => {
    expect(parseProxiedPath('/google/gmail/v1/users/me/messages?q=from%3Aann&maxResults=5')).toEqual({
      provider: 'google',
      path: '/gmail/v1/users/me/messages',
      segments: ['gmail', 'v1', 'users', 'me', 'messages'],
      search: '?q=from%3Aann&maxResults=5',
    });
    expect(parseProxiedPath('/microsoft/v1.0/users/ann%40contoso.com/')).toMatchObject({ path: '/v1.0/users/ann%40contoso.com/', segments: ['v1.0', 'users', 'ann%40contoso.com', ''] });
    expect(parseProxiedPath('/slack')).toMatchObject({ provider: 'slack', path: '/', segments: [] });
  });

  it.each([
    ['http://evil.test/slack/x', 'not_origin_form'],
    ['evil.test:443', 'not_origin_form'],
    ['//evil.test/x', 'not_origin_form'],
    ['/slack@evil.test/x', 'userinfo'],
    ['/slack/x@evil.test', 'userinfo'],
    ['/slack\\evil.test', 'backslash'],
    ['/slack/x?next=\\\\evil.test', 'backslash'],
    ['/slack/%2F%2Fevil.test', 'encoded_separator'],
    ['/slack/%5Cevil.test', 'encoded_separator'],
    ['/slack/%2e%2e/x', 'encoded_separator'],
    ['/slack/%252e%252e/x', 'encoded_separator'],
    ['/slack/%00', 'encoded_separator'],
    ['/slack/../x', 'dot_segment'],
    ['/slack/a/./b', 'dot_segment'],
    ['/slack/a//b', 'empty_segment'],
    ['/slack/a b', 'invalid_character'],
    ['/slack/a%zz', 'invalid_character'],
    ['/slack/a?b=c d', 'invalid_character'],
    ['/slack/a#frag', 'invalid_character'],
    ['/Slack/x', 'provider_id'],
    ['/', 'provider_id'],
  ])('refuses %s (%s)', (target, reason) => {
    expect(refusal(target)).toBe(reason);
  });
});

describe('forwardedUrl', () => {
  it('appends the path and query under the base, keeping percent-encodings', () => {
    const base = new URL('https://app.asana.com/api/1.0');
    expect(forwardedUrl(base, { path: '/users/me', search: '?opt_fields=name' }).href).toBe('https://app.asana.com/api/1.0/users/me?opt_fields=name');
    expect(forwardedUrl(base, { path: '/', search: '' }).href).toBe('https://app.asana.com/api/1.0');
    expect(forwardedUrl(new URL('https://graph.microsoft.com'), { path: '/v1.0/users/a%40b.com', search: '' }).href).toBe('https://graph.microsoft.com/v1.0/users/a%40b.com');
  });

  it('refuses a path that parsing would move off the base', () => {
    expect(() => forwardedUrl(new URL('https://slack.com/api'), { path: '/../evil', search: '' })).toThrow(expect.objectContaining({ code: 'invalid_proxy_path' }));
  });
});
