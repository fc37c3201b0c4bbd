// oauth4webapi runs the standard steps, but every request still leaves through the broker's provider transport: inside the
// endpoint boundary, with this call's timeout, the broker's Basic encoding, and plain http only on loopback.
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { basicAuthorization } from '../../../shared/oauth/client-authentication.js';
import { noOriginOverrides } from '../../../shared/oauth/origin-overrides.js';
import { createProviderHttp } from '../../../shared/oauth/provider-http.js';
import type { TransportReply, TransportRequest } from '../../../shared/oauth/provider-transport.js';
import { authorizationServer, standardCall, standardClient, standardClientAuthentication } from '../../../shared/oauth/standard-steps.js';
import { createEndpointBoundary } from '../../../shared/providers/endpoint-boundary.js';
import { systemClock } from '../../../shared/time/clock.js';

function recordingHttp(reply: () => TransportReply) {
  const sent: TransportRequest[] = [];
  const http = createProviderHttp({
    overrides: noOriginOverrides,
    transport: async (request) => {
      sent.push(request);
      return reply();
    },
  });
  return { http, sent };
}

const client = { clientId: 'app-id_1.example', clientSecret: 's3cr-t.value' };
const tokenReply = (): TransportReply => ({
  status: 200,
  headers: new Headers({ 'content-type': 'application/json' }),
  body: JSON.stringify({ access_token: 'at', token_type: 'Bearer' }),
});

async function refreshAt(tokenUrl: string, http: ReturnType<typeof recordingHttp>['http'], timeoutMs?: number) {
  const boundary = createEndpointBoundary({ provider: 'example', urlTemplates: [tokenUrl], variableHosts: [] });
  const call = standardCall({ http, boundary, url: tokenUrl, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  await oauth.refreshTokenGrantRequest(
    authorizationServer({ token: tokenUrl }),
    standardClient(client, systemClock),
    standardClientAuthentication('client_secret_basic', client),
    'rt',
    call.options,
  );
  return call.reply();
}

describe('standard OAuth steps on oauth4webapi', () => {
  it('sends through the provider transport with the broker\'s Basic encoding and hands back the raw reply', async () => {
    const { http, sent } = recordingHttp(tokenReply);
    const reply = await refreshAt('https://auth.example.com/token', http);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url.href).toBe('https://auth.example.com/token');
    const headers = new Headers(sent[0]?.headers);
    // '-', '_' and '.' stay literal, as the broker always sent them (oauth4webapi's own Basic would escape them).
    expect(headers.get('authorization')).toBe(basicAuthorization(client));
    expect(Object.fromEntries(new URLSearchParams(String(sent[0]?.body)))).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt' });
    expect(reply).toMatchObject({ status: 200 });
    expect(JSON.parse(reply.body)).toEqual({ access_token: 'at', token_type: 'Bearer' });
  });

  it('allows plain http only on loopback, as routeProviderUrl does', async () => {
    const { http, sent } = recordingHttp(tokenReply);
    await expect(refreshAt('http://127.0.0.1:9/token', http)).resolves.toMatchObject({ status: 200 });
    await expect(refreshAt('http://auth.example.com/token', http)).rejects.toMatchObject({ code: 'misconfigured' });
    expect(sent.map(({ url }) => url.href)).toEqual(['http://127.0.0.1:9/token']);
  });

  it('keeps a refresh\'s own, longer timeout: a slow provider is waited for, not abandoned', async () => {
    const slow = createProviderHttp({
      overrides: noOriginOverrides,
      timeoutMs: 50,
      // Answers after 200 ms, unless the caller gives up first (as the node:http transport does on its abort signal).
      transport: ({ signal }) =>
        new Promise<TransportReply>((resolve, reject) => {
          const timer = setTimeout(() => resolve(tokenReply()), 200);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason as Error);
          });
        }),
    });
    await expect(refreshAt('https://auth.example.com/token', slow)).rejects.toMatchObject({ code: 'provider_unavailable', details: { reason: 'timeout' } });
    await expect(refreshAt('https://auth.example.com/token', slow, 2_000)).resolves.toMatchObject({ status: 200 });
  });

  it('never sends client credentials outside the provider\'s boundary', async () => {
    const { http, sent } = recordingHttp(tokenReply);
    const boundary = createEndpointBoundary({ provider: 'example', urlTemplates: ['https://auth.example.com/token'], variableHosts: [] });
    const call = standardCall({ http, boundary, url: 'https://elsewhere.example/token' });
    await expect(
      oauth.refreshTokenGrantRequest(
        authorizationServer({ token: 'https://elsewhere.example/token' }),
        standardClient(client, systemClock),
        standardClientAuthentication('client_secret_post', client),
        'rt',
        call.options,
      ),
    ).rejects.toMatchObject({ code: 'provider_error', details: { reason: 'endpoint_not_allowed' } });
    expect(sent).toHaveLength(0);
  });
});
