// Google's time-based access: a grant whose refresh token expires is marked on connect and ends in needs_reauth.
import { describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../shared/errors/broker-error.js';
import { refreshGrant } from '../../../shared/oauth/grants.js';
import { google } from '../../../shared/providers/definitions/google.js';
import { googleTimeBasedAccount } from '../../../local/provider-sandbox/profiles.js';
import { useProviderSandbox } from './sandbox-harness.js';

const h = useProviderSandbox();
const THIRTY_DAYS = 30 * 24 * 3600;

describe('google time-based access', () => {
  it('marks a time-limited grant with when its refresh token expires', async () => {
    const { grant } = await h.connect('google', { account: googleTimeBasedAccount('alice', THIRTY_DAYS) });
    const issuedAt = grant.idTokenClaims?.iat;
    expect(typeof issuedAt).toBe('number');
    expect(grant.refreshToken).toBeDefined();
    expect(grant.metadata).toEqual({
      accessDuration: 'time-based',
      refreshTokenExpiresAt: new Date(((issuedAt as number) + THIRTY_DAYS) * 1000).toISOString(),
    });
  });

  it('leaves a grant with ongoing access unmarked', async () => {
    const { grant } = await h.connect('google');
    expect(grant.metadata).toEqual({});
  });

  it('keeps refreshing until Google says the token has expired, then needs the user', async () => {
    const { provider, credentials, grant, connectionConfig } = await h.connect('google', { account: googleTimeBasedAccount('bob', 3600) });
    const refresh = () => refreshGrant(h.runtime, provider, { client: credentials, refreshToken: grant.refreshToken as string, scopes: grant.scopes, connectionConfig });
    const refreshed = await refresh();
    expect(refreshed.refreshToken).toBe(grant.refreshToken);
    // The refresh reply does not repeat the lifetime: the stored marker (merged on refresh) stays as it was.
    expect(refreshed.metadata).toEqual({});

    h.sandbox.injectFault('google', 'refresh', { kind: 'invalid_grant' });
    const error = await refresh().catch((e: unknown) => e);
    expect(isBrokerError(error, 'needs_reauth')).toBe(true);
    expect((error as { details?: { providerError?: string } }).details?.providerError).toBe('invalid_grant');
    expect(h.sandbox.calls('google', 'refresh')).toBe(2);
  });
});

describe('google refresh_token_expires_in parsing', () => {
  const metadataOf = (body: unknown) => google.tokenRequest.readReply?.(body, { connectionConfig: {}, grant: 'authorization_code' }).metadata;
  const idTokenIssuedAt = (iat: number) => `e30.${Buffer.from(JSON.stringify({ iat })).toString('base64url')}.c2ln`;

  it('accepts the lifetime as a number or a string of digits', () => {
    const expected = { accessDuration: 'time-based', refreshTokenExpiresAt: '2030-01-01T01:00:00.000Z' };
    const iat = Date.UTC(2030, 0, 1) / 1000;
    expect(metadataOf({ access_token: 'a', refresh_token_expires_in: 3600, id_token: idTokenIssuedAt(iat) })).toEqual(expected);
    expect(metadataOf({ access_token: 'a', refresh_token_expires_in: '3600', id_token: idTokenIssuedAt(iat) })).toEqual(expected);
  });

  it('still marks the grant time-based when there is no id_token to date it from', () => {
    expect(metadataOf({ access_token: 'a', refresh_token_expires_in: 3600 })).toEqual({ accessDuration: 'time-based', refreshTokenExpiresAt: undefined });
  });

  it('refuses a lifetime that is not a number of seconds (the generic code reports a malformed reply)', () => {
    expect(() => metadataOf({ access_token: 'a', refresh_token_expires_in: 'soon' })).toThrow();
    expect(() => metadataOf({ access_token: 'a', refresh_token_expires_in: -5 })).toThrow();
  });
});
