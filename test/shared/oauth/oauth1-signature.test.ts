// HMAC-SHA1 signing checked against published vectors: RFC 5849 §1.2 and Twitter's classic signing example.
import { describe, expect, it } from 'vitest';
import { hmacSha1Signature, oauth1AuthorizationHeader, parseOAuth1AuthorizationHeader, percentEncode, signatureBaseString } from '../../../shared/oauth/oauth1-signature.js';

describe('OAuth 1.0a HMAC-SHA1', () => {
  it('reproduces the RFC 5849 §1.2 photo request signature', () => {
    const signature = hmacSha1Signature({
      method: 'GET',
      url: 'http://photos.example.net/photos?file=vacation.jpg&size=original',
      oauthParams: {
        oauth_consumer_key: 'dpf43f3p2l4k3l03',
        oauth_token: 'nnch734d00sl2jdk',
        oauth_signature_method: 'HMAC-SHA1',
        oauth_timestamp: '137131202',
        oauth_nonce: 'chapoH',
      },
      consumerSecret: 'kd94hf93k423kf44',
      tokenSecret: 'pfkkdhi9sl3r4s00',
    });
    expect(signature).toBe('MdpQcU8iPSUjWoN/UDMsK2sui9I=');
  });

  it('reproduces Twitter\'s documented signature, body parameters included', () => {
    const input = {
      method: 'post',
      url: 'https://api.twitter.com/1/statuses/update.json?include_entities=true',
      oauthParams: {
        oauth_consumer_key: 'xvz1evFS4wEEPTGEFPHBog',
        oauth_nonce: 'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg',
        oauth_signature_method: 'HMAC-SHA1',
        oauth_timestamp: '1318622958',
        oauth_token: '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb',
        oauth_version: '1.0',
      },
      bodyParams: [['status', 'Hello Ladies + Gentlemen, a signed OAuth request!']] as const,
      consumerSecret: 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw',
      tokenSecret: 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE',
    };
    expect(signatureBaseString(input)).toMatch(/^POST&https%3A%2F%2Fapi.twitter.com%2F1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key/);
    expect(hmacSha1Signature(input)).toBe('tnnArxj06cWHq44gCs1OSKk/jLY=');
  });

  it('percent-encodes RFC 3986 reserved characters that encodeURIComponent leaves alone', () => {
    expect(percentEncode("!*'()")).toBe('%21%2A%27%28%29');
    expect(percentEncode('a b~')).toBe('a%20b~');
  });

  it('round-trips the Authorization header it produces', () => {
    const header = oauth1AuthorizationHeader({ method: 'POST', url: 'https://trello.com/1/OAuthGetRequestToken', oauthParams: { oauth_consumer_key: 'k', oauth_callback: 'https://b.example/cb?x=1' }, consumerSecret: 's' });
    expect(parseOAuth1AuthorizationHeader(header)).toMatchObject({ oauth_consumer_key: 'k', oauth_callback: 'https://b.example/cb?x=1' });
  });
});
