// How oauth4webapi runs the standard OAuth steps for a provider: its server and client objects, our provider fetch,
// our client authentication, our clock, and the plain-http switch kept to loopback exactly as routeProviderUrl keeps it.
import * as oauth from 'oauth4webapi';
import { isHttpsOrLoopbackHttp } from '../config/loopback-url.js';
import { BrokerError } from '../errors/broker-error.js';
import type { ClientAuthenticationMethod } from '../providers/definition-schema.js';
import type { EndpointBoundary } from '../providers/endpoint-boundary.js';
import type { Clock } from '../time/clock.js';
import { basicAuthorization, requireSecret } from './client-authentication.js';
import { type ProviderHttp, type ProviderReply, sendProviderRequest } from './provider-http.js';
import type { ClientCredentials } from './token-set.js';

/** Allowed clock difference with the provider for id_token times, as before the move to oauth4webapi. */
const CLOCK_TOLERANCE_SECONDS = 60;

/** Statuses whose Response carries no body (the constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

export interface StandardServer {
  /** The issuer iss and id_token `iss` are compared with; omitted when the provider names none (no comparison is made). */
  readonly issuer?: string;
  readonly token?: string;
  readonly revocation?: string;
  readonly idTokenAlgorithms?: readonly string[];
}

/**
 * The authorization server as oauth4webapi sees it. It wants an issuer even where nothing is compared with one: the
 * token endpoint's origin stands in, and callers only ask for an issuer check when `issuer` was given.
 */
export function authorizationServer(server: StandardServer): oauth.AuthorizationServer {
  const stand = server.token === undefined ? 'urn:oauth-broker:no-issuer' : new URL(server.token).origin;
  return {
    issuer: server.issuer ?? stand,
    ...(server.token === undefined ? {} : { token_endpoint: server.token }),
    ...(server.revocation === undefined ? {} : { revocation_endpoint: server.revocation }),
    ...(server.idTokenAlgorithms === undefined ? {} : { id_token_signing_alg_values_supported: [...server.idTokenAlgorithms] }),
  };
}

/** The client, with the injected clock's offset so id_token times are judged by the broker's clock, not Date.now. */
export function standardClient(client: ClientCredentials, clock: Clock): oauth.Client {
  const skew = Math.floor(clock.nowMs() / 1000) - Math.floor(Date.now() / 1000);
  return { client_id: client.clientId, [oauth.clockSkew]: skew, [oauth.clockTolerance]: CLOCK_TOLERANCE_SECONDS };
}

/**
 * Client authentication for oauth4webapi. HTTP Basic keeps the broker's own encoding (RFC 6749 §2.3.1 as the broker
 * always sent it: `-`, `_` and `.` stay literal), because oauth4webapi also escapes those and a provider that does not
 * decode the header would then see another client id than the one registered.
 */
export function standardClientAuthentication(method: ClientAuthenticationMethod, client: ClientCredentials): oauth.ClientAuth {
  if (method === 'client_secret_basic') {
    const authorization = basicAuthorization(client);
    return (_as, _client, _body, headers) => headers.set('authorization', authorization);
  }
  if (method === 'client_secret_post') return oauth.ClientSecretPost(requireSecret(client));
  return oauth.None();
}

export interface StandardRequestOptions {
  readonly http: ProviderHttp;
  readonly boundary: EndpointBoundary;
  /** The endpoint about to be called, to decide the plain-http switch. */
  readonly url: string;
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One oauth4webapi request: its options, and the raw reply once sent (for the processing step, quirks in view). */
export interface StandardCall {
  readonly options: oauth.TokenEndpointRequestOptions;
  readonly reply: () => ProviderReply;
}

/**
 * Every oauth4webapi request goes through sendProviderRequest: the endpoint boundary, the origin overrides, the timeout
 * (this call's own, so a refresh is never abandoned while the provider may still answer; oauth4webapi's `signal` is
 * not used) and the reply size cap. Plain http is allowed only where routeProviderUrl allows it, on a loopback host
 * (the sandbox, a local peer); oauth4webapi and routeProviderUrl both refuse it anywhere else.
 */
export function standardCall(options: StandardRequestOptions): StandardCall {
  const target = new URL(options.url);
  // The project's one rule for plain http (config/loopback-url.ts), the same routeProviderUrl applies to every call.
  if (!isHttpsOrLoopbackHttp(target)) {
    throw new BrokerError('misconfigured', 'Provider endpoints must use https (http only on loopback)', { details: { origin: target.origin } });
  }
  let sent: ProviderReply | undefined;
  return {
    options: {
      ...(options.headers === undefined ? {} : { headers: { ...options.headers } }),
      // Loopback only, checked just above: the local stack's sandbox and the certified peers serve plain http.
      [oauth.allowInsecureRequests]: target.protocol === 'http:',
      [oauth.customFetch]: async (url, init) => {
        sent = await sendProviderRequest(options.http, options.boundary, {
          method: 'POST',
          url,
          headers: init.headers,
          body: init.body.toString(),
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        });
        return replyResponse(sent);
      },
    },
    reply: () => {
      if (sent === undefined) throw new TypeError('unreachable: oauth4webapi sent no request');
      return sent;
    },
  };
}

/** A Response over a reply already read (capped, inside its timeout), for oauth4webapi's processing steps. */
export function replyResponse(reply: ProviderReply): Response {
  return new Response(NULL_BODY_STATUSES.has(reply.status) ? null : reply.body, { status: reply.status, headers: reply.headers });
}
