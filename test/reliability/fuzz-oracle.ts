// What every answer to a fuzzed request must satisfy: no 5xx, problem+json with a stable code for 4xx (the callback's browser
// pages and redirects excepted, which have their own rules), no stack traces, and no secret of any kind in it.
import { CALLBACK_CONTENT_SECURITY_POLICY } from '../../shared/usecases/connect/callback-pages.js';
import { errorCodes, errorCodeTable, type ErrorCode } from '../../shared/errors/error-codes.js';
import { type FuzzRequest, type FuzzResponse, SECRET_MARKER } from './fuzz-request.js';

export interface OracleContext {
  readonly returnUrls: readonly string[];
  /** Where the callback's start step may send a browser (the provider sandbox, standing in for the providers). */
  readonly providerOrigin: string;
  readonly clientSecrets: readonly string[];
  /** Every secret the provider sandbox issued so far (codes, access and refresh tokens, API keys). */
  issuedSecrets(): readonly string[];
}

const knownCodes: ReadonlySet<string> = new Set(errorCodes);
const STACK_TRACE = /\n\s+at .+[:(]\d+:\d+|node_modules|\.ts:\d+|TypeError:|ReferenceError:|SyntaxError:/;
const SECRET_TAIL = 32;

function header(response: FuzzResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function checkProblem(request: FuzzRequest, response: FuzzResponse, violations: string[]): void {
  const type = header(response, 'content-type') ?? '';
  if (!type.startsWith('application/problem+json')) {
    violations.push(`${response.status} is not application/problem+json (content-type ${JSON.stringify(type)})`);
    return;
  }
  if (request.method.toUpperCase() === 'HEAD') return;
  let body: { code?: unknown; status?: unknown; type?: unknown };
  try {
    body = JSON.parse(response.body) as typeof body;
  } catch {
    violations.push(`${response.status} problem body is not JSON`);
    return;
  }
  if (typeof body.code !== 'string' || !knownCodes.has(body.code)) {
    violations.push(`${response.status} problem code ${JSON.stringify(body.code)} is not in shared/errors/error-codes.ts`);
    return;
  }
  const expected = errorCodeTable[body.code as ErrorCode].status;
  if (body.status !== response.status || expected !== response.status) violations.push(`problem ${body.code} answered ${response.status}, its table says ${expected}, its body says ${String(body.status)}`);
  if (body.type !== `urn:oauth-broker:problem:${body.code}`) violations.push(`problem ${body.code} has type ${JSON.stringify(body.type)}`);
}

function checkCallbackPage(request: FuzzRequest, response: FuzzResponse, violations: string[]): void {
  const expectations: Record<string, string> = {
    'content-security-policy': CALLBACK_CONTENT_SECURITY_POLICY,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  };
  for (const [name, value] of Object.entries(expectations)) {
    if (header(response, name) !== value) violations.push(`callback page lacks ${name}: ${value} (got ${JSON.stringify(header(response, name))})`);
  }
  if (request.method.toUpperCase() === 'HEAD') return;
  const code = /<code id="error-code">([a-z_]+)<\/code>/.exec(response.body)?.[1];
  if (code === undefined || !knownCodes.has(code)) violations.push(`callback page shows no known error code (${JSON.stringify(code)})`);
  else if (errorCodeTable[code as ErrorCode].status !== response.status) violations.push(`callback page for ${code} answered ${response.status}`);
}

function checkCallbackRedirect(response: FuzzResponse, context: OracleContext, violations: string[]): void {
  const location = header(response, 'location');
  if (location === undefined || !URL.canParse(location)) {
    violations.push(`callback ${response.status} without an absolute Location (${JSON.stringify(location)})`);
    return;
  }
  const target = new URL(location);
  const toProvider = target.origin === context.providerOrigin;
  const toProduct = context.returnUrls.includes(`${target.origin}${target.pathname}`);
  if (!toProvider && !toProduct) violations.push(`callback redirects to ${target.origin}${target.pathname}, neither a provider nor an allowlisted return URL`);
}

/** Runs of base64url characters long enough to hold a sandbox secret's random tail. */
function secretCandidates(text: string): string[] {
  return text.match(/[A-Za-z0-9_-]{32,}/g) ?? [];
}

function leaks(request: FuzzRequest, response: FuzzResponse, text: string, presented: readonly string[], context: OracleContext): string[] {
  const found: string[] = [];
  if (text.includes(SECRET_MARKER)) found.push('a secret value the request carried');
  for (const secret of context.clientSecrets) if (text.includes(secret)) found.push('a provider client secret');
  for (const credential of presented) {
    const signature = credential.split('.').at(-1) ?? '';
    if (text.includes(credential) || (signature.length >= 20 && text.includes(signature))) found.push('the caller\'s own credential');
  }
  // The token function's 200 is the one answer that carries an access token, by design.
  const mayCarryToken = request.functionName === 'token' && response.status === 200;
  const candidates = secretCandidates(text);
  if (!mayCarryToken && candidates.length > 0) {
    const tails = new Set(context.issuedSecrets().map((secret) => secret.slice(-SECRET_TAIL)));
    for (const run of candidates) {
      for (let start = 0; start + SECRET_TAIL <= run.length; start += 1) {
        if (tails.has(run.slice(start, start + SECRET_TAIL))) {
          found.push('a secret the provider issued');
          break;
        }
      }
    }
  }
  return found;
}

/**
 * The answer as scanned for secrets. An OAuth 1.0a request token (`oauth_token`) travels through the browser to the
 * provider by design (RFC 5849 §2.2): in the start step's redirect to the provider it is not a leak.
 */
function scannedText(response: FuzzResponse, context: OracleContext): string {
  let text = `${JSON.stringify(response.headers)}\n${response.body}`;
  const location = header(response, 'location');
  if (location !== undefined && URL.canParse(location) && new URL(location).origin === context.providerOrigin) {
    const requestToken = new URL(location).searchParams.get('oauth_token');
    if (requestToken !== null && requestToken.length > 0) text = text.replaceAll(requestToken, '<oauth_token>');
  }
  return text;
}

/** Every rule the answer breaks; empty when it is a good answer. `presented` are the credentials this request carried. */
export function findViolations(request: FuzzRequest, response: FuzzResponse, presented: readonly string[], context: OracleContext): string[] {
  const violations: string[] = [];
  const { status } = response;
  if (status >= 500) violations.push(`answered ${status}`);
  const text = scannedText(response, context);
  if (STACK_TRACE.test(response.body)) violations.push('the body looks like a stack trace');
  for (const leak of leaks(request, response, text, presented, context)) violations.push(`the response contains ${leak}`);
  const isHtml = (header(response, 'content-type') ?? '').startsWith('text/html');
  if (request.functionName === 'callback') {
    if (status >= 300 && status < 400) checkCallbackRedirect(response, context, violations);
    else if (isHtml) checkCallbackPage(request, response, violations);
    else if (status >= 400 && status < 500) checkProblem(request, response, violations);
    else if (status < 500) violations.push(`callback answered ${status} with neither a redirect nor its page`);
    return violations;
  }
  if (status >= 300 && status < 400) violations.push(`${request.functionName} redirects (${status})`);
  if (status >= 400 && status < 500) checkProblem(request, response, violations);
  return violations;
}
