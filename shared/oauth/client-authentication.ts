// Puts the client's credentials where the provider wants them: HTTP Basic, the body, or only the client id.
import type { ClientAuthenticationMethod } from '../providers/definition-schema.js';
import type { ClientCredentials } from './token-set.js';

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded. */
export function basicAuthorization(client: ClientCredentials): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(client.clientId)}:${encode(requireSecret(client))}`).toString('base64')}`;
}

export function requireSecret(client: ClientCredentials): string {
  if (client.clientSecret === undefined || client.clientSecret === '') {
    throw new TypeError('this provider authenticates the client with a secret, and none is configured');
  }
  return client.clientSecret;
}

export interface AuthenticatedParts {
  readonly headers: Record<string, string>;
  readonly fields: Record<string, string>;
}

export function authenticateClient(method: ClientAuthenticationMethod, client: ClientCredentials): AuthenticatedParts {
  if (method === 'client_secret_basic') return { headers: { authorization: basicAuthorization(client) }, fields: {} };
  if (method === 'client_secret_post') {
    return { headers: {}, fields: { client_id: client.clientId, client_secret: requireSecret(client) } };
  }
  return { headers: {}, fields: { client_id: client.clientId } };
}

export function encodeBody(format: 'form' | 'json', fields: Readonly<Record<string, string>>): { body: string; contentType: string } {
  if (format === 'json') return { body: JSON.stringify(fields), contentType: 'application/json' };
  return { body: new URLSearchParams(fields).toString(), contentType: 'application/x-www-form-urlencoded' };
}
