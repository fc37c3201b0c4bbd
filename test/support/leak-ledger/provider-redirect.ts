// The one place a secret may appear in a function's answer other than the token function's: the connect start step's redirect
// to the provider carries the state (RFC 6749 §4.1.1) and, for OAuth 1.0a, the request token (RFC 5849 §2.2), by design.
import type { ResponseRecord } from '../../../local/leak-ledger/ledger-record.js';

const CARRIED_PARAMETERS = ['state', 'oauth_token'] as const;
const START_STEP = { function: 'callback', path: '/start' } as const;

function headerValue(headers: ResponseRecord['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The values the start step's redirect carries to a provider sandbox, in every form they are written in that answer
 * (decoded, percent-encoded, form-encoded). Empty for any other answer: a redirect elsewhere, another path, another function.
 */
export function valuesCarriedToProvider(response: ResponseRecord): string[] {
  if (response.function !== START_STEP.function || response.path !== START_STEP.path) return [];
  if (response.status < 300 || response.status >= 400) return [];
  const location = headerValue(response.headers, 'location');
  if (location === undefined || !URL.canParse(location)) return [];
  const target = new URL(location);
  if (!response.providerOrigins.includes(target.origin)) return [];
  const carried = new Set<string>();
  for (const name of CARRIED_PARAMETERS) {
    const value = target.searchParams.get(name);
    if (value === null || value.length === 0) continue;
    carried.add(value);
    carried.add(encodeURIComponent(value));
    carried.add(new URLSearchParams({ [name]: value }).toString().slice(name.length + 1));
  }
  return [...carried];
}
