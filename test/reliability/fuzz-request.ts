// One generated request to a broker function, and how it is sent: raw node:http, so any method, header, byte and path goes out as generated.
import { Agent, request as httpRequest } from 'node:http';

/** Values in secret-bearing inputs carry this marker; no response may ever contain it. */
export const SECRET_MARKER = 'FUZZSECRET';

export type Principal = 'caller' | 'stranger' | 'scheduler' | 'operator';

/** How the caller identifies itself; tokens are minted at send time (they expire). */
export type AuthVariant =
  | { readonly kind: 'none' }
  | { readonly kind: 'raw'; readonly header: string; readonly value: string }
  | { readonly kind: 'duplicate-authorization' }
  | {
      readonly kind: 'id-token';
      readonly principal: Principal;
      /** self: this function's URL; sibling: another function's URL; foreign: nobody's. */
      readonly audience: 'self' | 'sibling' | 'foreign';
      readonly expiry: 'valid' | 'expired' | 'issued-in-future';
      readonly tamper: 'none' | 'signature-removed' | 'signature-flipped' | 'alg-none' | 'payload-swapped';
      /** Where the token goes: Authorization, Cloud Run's X-Serverless-Authorization, or both. */
      readonly placement: 'authorization' | 'serverless' | 'both';
    };

/** The admin function's Identity-Aware Proxy header. */
export type IapVariant =
  | { readonly kind: 'none' }
  | { readonly kind: 'raw'; readonly value: string }
  | { readonly kind: 'assertion'; readonly principal: Principal; readonly audience: 'self' | 'foreign'; readonly expired: boolean; readonly forged: boolean };

/** A callback request made on top of a real connect flow (authorize → /start → consent), then mutated. */
export interface LiveFlowPlan {
  readonly provider: string;
  readonly decision: 'approve' | 'deny' | 'skip-consent';
  readonly cookie: 'matching' | 'none' | 'foreign' | 'duplicated';
  readonly state: 'real' | 'tampered' | 'missing';
  readonly code: 'real' | 'random' | 'missing';
  readonly iss: 'as-sent' | 'missing' | 'wrong';
  /** Extra or overriding parameters (error, error_description, oauth_token...). */
  readonly extraParams: readonly (readonly [string, string])[];
  /** Sends the finished callback a second time; the second answer is the one checked. */
  readonly replay: boolean;
}

export interface FuzzRequest {
  readonly functionName: string;
  readonly method: string;
  /** Path and query, as sent (already encoded, possibly malformed on purpose). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly auth: AuthVariant;
  readonly iap: IapVariant;
  readonly body: string | Uint8Array | undefined;
  readonly liveFlow?: LiveFlowPlan;
}

export interface FuzzResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface Sender {
  send(url: string, method: string, headers: Record<string, string | string[]>, body: string | Uint8Array | undefined): Promise<FuzzResponse>;
  close(): void;
}

export function createSender(options: { maxSockets: number; timeoutMs: number }): Sender {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  return {
    send: (url, method, headers, body) =>
      new Promise<FuzzResponse>((resolve, reject) => {
        // node frames a body on GET, DELETE, OPTIONS and TRACE only with an explicit length; unframed bytes would be read as the next request.
        const framed = body === undefined ? headers : { ...headers, 'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength) };
        const request = httpRequest(url, { method, headers: framed, agent, timeout: options.timeoutMs }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', reject);
        });
        request.on('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
        request.on('error', reject);
        request.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** One line that says what was sent, for reports (bodies cut short). */
export function describeRequest(request: FuzzRequest): string {
  const body = request.body === undefined ? '' : typeof request.body === 'string' ? request.body : `<${request.body.length} bytes>`;
  const shortBody = body.length > 300 ? `${body.slice(0, 300)}…(${body.length} chars)` : body;
  const path = request.path.length > 300 ? `${request.path.slice(0, 300)}…(${request.path.length} chars)` : request.path;
  const flow = request.liveFlow ? ` liveFlow=${JSON.stringify(request.liveFlow).slice(0, 400)}` : '';
  return `${request.method} /${request.functionName}${path} auth=${JSON.stringify(request.auth)} iap=${JSON.stringify(request.iap)} headers=${JSON.stringify(request.headers)} body=${JSON.stringify(shortBody)}${flow}`;
}
