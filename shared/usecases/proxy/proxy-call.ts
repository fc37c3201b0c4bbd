// A proxied provider API call: the caller's API rules first, then the connection and a fresh token through the refresh
// engine, then one forwarded request (and one replay after a refresh when the provider refuses the token and the body
// can be sent again), the answer streamed back as the provider gave it, and one audit line.
//
// Auditing follows the token read: refusals by the caller's API rules are written to the Firestore audit log; every
// call is one `audit.proxy_call` log line naming the caller, the connection, method, host, the API rule it matched
// (the path template) and the status: never the path or query as sent, bodies or tokens.
import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import type { Firestore } from '@google-cloud/firestore';
import type { RequestHeaders } from '../../auth/authenticate-caller.js';
import type { CallerPolicy } from '../../auth/caller-policy.js';
import type { VerifiedCaller } from '../../auth/id-token-verifier.js';
import { BrokerError, isBrokerError } from '../../errors/broker-error.js';
import { relay } from '../../http/relay-stream.js';
import type { RequestBodySource } from '../../http/streamed-body.js';
import type { Logger } from '../../log/logger.js';
import { expandApiBase } from '../../providers/endpoint-boundary.js';
import type { ProviderCatalog } from '../../providers/registry.js';
import { appendAudit } from '../../store/audit-log.js';
import type { AuditActor } from '../../store/connection-refresh-writes.js';
import type { Clock } from '../../time/clock.js';
import type { IdSource } from '../../time/ids.js';
import type { RefreshEngine, RequestEffects } from '../refresh/refresh-engine.js';
import type { ConnectionSource } from '../token/connection-source.js';
import { type ConnectionSelector, findConnection } from '../token/find-connection.js';
import { connectionSelectorFromHeaders } from './connection-headers.js';
import {
  byteCap,
  forwardableRequestHeaders,
  type OutboundBody,
  passableReplyHeaders,
  PROXY_REPLY_BODY_LIMIT_BYTES,
  type ProviderApiTransport,
  readReplayableBody,
  sendProviderApiRequest,
} from './provider-api-request.js';
import { forwardedUrl, parseProxiedPath } from './proxied-path.js';
import { recordProxiedHealth } from './proxy-health.js';

/** Bodies up to this size are read before sending, so a 401 can be answered by a refresh and a replay. */
export const REPLAYABLE_BODY_LIMIT_BYTES = 64 * 1024;

export interface ProxyCallDependencies {
  readonly firestore: Firestore;
  /** Where connections are found: the instance's coherent cache, as for token reads (token/connection-cache.ts). */
  readonly connections: ConnectionSource;
  readonly engine: RefreshEngine;
  readonly callerPolicy: CallerPolicy;
  readonly catalog: ProviderCatalog;
  readonly transport: ProviderApiTransport;
  readonly minValidityMs: number;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
}

export interface ProxyCallRequest {
  readonly method: string;
  /** The request target as received (`/{provider}/{path}?{query}`), not decoded. */
  readonly target: string;
  readonly headers: RequestHeaders & { readonly rawHeaders: readonly string[] };
  readonly body: RequestBodySource;
}

/** Where the provider's answer goes: its status and headers first, then the body into the returned stream. */
export interface ProxyReplyWriter {
  /** Called once the call's own state changes are stored: the function drains their events before the answer begins. */
  start(status: number, statusMessage: string, headers: readonly (readonly [string, string])[]): Promise<Writable>;
  /** Ends the caller's response abruptly (a reply cut off midway must not look complete). */
  abort(): void;
}

async function auditDenial(dependencies: ProxyCallDependencies, actor: AuditActor, selector: ConnectionSelector): Promise<void> {
  try {
    await appendAudit(
      dependencies.firestore,
      { action: 'proxy.denied', actor, tenantId: selector.tenantId, userId: selector.userId, provider: selector.provider, connectionId: null, outcome: 'denied', reason: 'proxy_not_allowed' },
      dependencies,
    );
  } catch (error) {
    // The refusal stands either way; a lost audit entry is logged with everything it would have held.
    dependencies.logger.error('audit.write_failed', 'A proxy denial could not be written to the audit log', {
      callerEmail: actor.id,
      tenantId: selector.tenantId,
      provider: selector.provider,
      error,
    });
  }
}

/** The body as it will be sent: small announced bodies are held (replayable), others streamed once. */
async function outboundBody(source: RequestBodySource): Promise<OutboundBody> {
  if (source.kind === 'none') return source;
  if (source.kind === 'buffered') return { kind: 'bytes', bytes: source.bytes };
  if (source.declaredLength !== undefined && source.declaredLength <= REPLAYABLE_BODY_LIMIT_BYTES) {
    return { kind: 'bytes', bytes: await readReplayableBody(source.stream, REPLAYABLE_BODY_LIMIT_BYTES) };
  }
  return source;
}

export async function proxyCall(
  dependencies: ProxyCallDependencies,
  caller: VerifiedCaller,
  request: ProxyCallRequest,
  writer: ProxyReplyWriter,
  effects: RequestEffects,
): Promise<void> {
  const startedMs = dependencies.clock.nowMs();
  const method = request.method.toUpperCase();
  const actor: AuditActor = { type: 'service_account', id: caller.email };
  // Filled in as the call is understood: a request refused for its path or headers is audited with what is known.
  const line = {
    callerEmail: caller.email,
    tenantId: null as string | null,
    userId: null as string | null,
    provider: null as string | null,
    method,
    connectionId: null as string | null,
    host: null as string | null,
    pathTemplate: null as string | null,
    retried: false,
  };
  const audit = (outcome: string, fields: { httpStatus: number; errorCode?: string }) =>
    dependencies.logger.info('audit.proxy_call', `Proxied call ${outcome}`, { ...line, ...fields, outcome, durationMs: dependencies.clock.nowMs() - startedMs });
  try {
    const proxied = parseProxiedPath(request.target);
    const selector = connectionSelectorFromHeaders(request.headers, proxied.provider);
    Object.assign(line, { tenantId: selector.tenantId, userId: selector.userId, provider: selector.provider });
    const provider = dependencies.catalog.resolve(selector.provider);
    const { api } = provider;
    if (api === undefined) {
      throw new BrokerError('proxy_not_supported', 'This provider has no API the broker proxies to', { details: { provider: provider.id } });
    }
    // The caller's API rules before any read: a refused call costs no Firestore read, no token and no outbound request.
    const rule = dependencies.callerPolicy.apiRuleFor(caller.email, { tenantId: selector.tenantId, provider: provider.id, method, segments: proxied.segments });
    if (rule === undefined) {
      await auditDenial(dependencies, actor, selector);
      throw new BrokerError('proxy_not_allowed', 'No API rule of this caller allows this call', { details: { provider: provider.id, method } });
    }
    line.pathTemplate = rule.rule;
    const connection = await findConnection(dependencies.connections, selector);
    line.connectionId = connection.id;
    const fresh = await dependencies.engine.freshCredentials(connection, { minValidityMs: dependencies.minValidityMs, actor, effects });
    const { document } = fresh.connection;
    const base = expandApiBase(provider.endpointBoundary, api.baseUrl, { ...document.connectionConfig, ...document.metadata });
    const url = forwardedUrl(base, proxied);
    line.host = url.host;
    const body = await outboundBody(request.body);
    const send = (accessToken: string) =>
      sendProviderApiRequest(dependencies.transport, provider.endpointBoundary, {
        method,
        url,
        headers: forwardableRequestHeaders(request.headers.rawHeaders),
        accessToken,
        body,
        timeoutMs: api.timeoutSeconds * 1000,
      });
    const sentMs = dependencies.clock.nowMs();
    let reply: IncomingMessage = await send(fresh.credentials.accessToken);
    if (reply.statusCode === 401 && body.kind !== 'stream') {
      // The token may have been revoked or rotated behind our back: one refresh under the lease, one replay.
      const refreshed = await dependencies.engine.refreshConnection(connection.id, { actor, mode: { kind: 'force' } });
      if (refreshed.outcome !== 'skipped') effects.stateChanged = true;
      if (refreshed.outcome === 'refreshed') {
        const renewed = await dependencies.engine.freshCredentials(refreshed.connection, { minValidityMs: 0, actor, effects });
        reply.resume();
        line.retried = true;
        reply = await send(renewed.credentials.accessToken);
      }
    }
    const status = reply.statusCode ?? 502;
    if (await recordProxiedHealth(dependencies, fresh.connection, { status, latencyMs: dependencies.clock.nowMs() - sentMs }, actor)) effects.stateChanged = true;
    const sink = await writer.start(status, reply.statusMessage ?? '', passableReplyHeaders(reply.rawHeaders));
    try {
      await relay(reply, byteCap(PROXY_REPLY_BODY_LIMIT_BYTES, () => new BrokerError('provider_error', 'The provider\'s reply is larger than the proxy passes')), sink);
    } catch (error) {
      // Status and headers are gone: all that is left is to end the response so it cannot pass for complete.
      writer.abort();
      audit('interrupted', { httpStatus: status, errorCode: isBrokerError(error) ? error.code : 'reply_interrupted' });
      return;
    }
    audit('completed', { httpStatus: status });
  } catch (error) {
    const code = isBrokerError(error) ? error.code : 'internal';
    audit(code === 'proxy_not_allowed' ? 'denied' : 'failed', { httpStatus: isBrokerError(error) ? error.status : 500, errorCode: code });
    throw error;
  }
}
