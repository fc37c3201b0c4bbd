// Turns a declared provider request (identity or revocation call) into a concrete outbound request.
import type { ConnectionConfig } from '../providers/connection-config.js';
import type { ProviderRequest } from '../providers/definition-schema.js';
import { type EndpointBoundary, expandEndpoint } from '../providers/endpoint-boundary.js';
import { expandTemplate } from '../providers/url-template.js';
import { basicAuthorization, encodeBody } from './client-authentication.js';
import type { OutboundRequest } from './provider-http.js';
import type { ClientCredentials } from './token-set.js';

export interface ProviderRequestValues {
  readonly connectionConfig: ConnectionConfig;
  readonly client?: ClientCredentials;
  /** The token this call is about (or made with). */
  readonly token: string;
}

export function materializeRequest(boundary: EndpointBoundary, request: ProviderRequest, values: ProviderRequestValues): OutboundRequest {
  // Not the caller's to choose: the token this call is about and our own client id.
  const trusted = { token: values.token, ...(values.client ? { clientId: values.client.clientId } : {}) };
  const variables = { ...values.connectionConfig, ...trusted };
  const headers: Record<string, string> = {};
  for (const [name, template] of Object.entries(request.headers ?? {})) headers[name] = expandTemplate(template, variables);
  if (request.bearer === 'access_token') headers.authorization = `Bearer ${values.token}`;
  if (request.basicClientAuth) {
    if (!values.client) throw new TypeError('this call authenticates the client, and no client credentials were given');
    headers.authorization = basicAuthorization(values.client);
  }
  let body: string | undefined;
  if (request.body) {
    const fields: Record<string, string> = {};
    for (const [name, template] of Object.entries(request.body.fields)) fields[name] = expandTemplate(template, variables);
    const encoded = encodeBody(request.body.format, fields);
    body = encoded.body;
    headers['content-type'] = encoded.contentType;
  }
  return {
    method: request.method,
    // The token may sit in a URL path (Trello) or query; encode it like any other path segment.
    url: expandEndpoint(boundary, request.url, values.connectionConfig, { ...trusted, token: encodeURIComponent(values.token) }),
    headers: { accept: 'application/json', ...headers },
    ...(body === undefined ? {} : { body }),
  };
}
