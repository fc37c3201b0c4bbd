// Where the CLI's Google ID token comes from: one given on the command line, or google-auth-library's
// Application Default Credentials (a service account key, impersonation, or the metadata server).
import type { GoogleAuth } from 'google-auth-library';
import { AdminApiError } from './admin-api-error.js';

/** Returns the `Authorization` header value (`Bearer <ID token>`) for the admin function. */
export type IdTokenSource = () => Promise<string>;

/** An ID token the operator passed (e.g. `gcloud auth print-identity-token`); a leading `Bearer ` is tolerated. */
export function explicitIdToken(token: string): IdTokenSource {
  const bare = token.trim().replace(/^bearer\s+/i, '');
  if (bare === '' || /\s/.test(bare)) throw new TypeError('--id-token must be a single token');
  const header = `Bearer ${bare}`;
  return () => Promise.resolve(header);
}

export interface GoogleIdTokenOptions {
  /** The audience the admin function accepts (its ID_TOKEN_AUDIENCES); its URL on Cloud Run. */
  readonly audience: string;
  /** The URL requests go to, for the library's per-URL header logic. */
  readonly url: string;
  /** google-auth-library is loaded only when no token was given, so `--id-token` runs skip its import. */
  readonly auth?: () => Promise<Pick<GoogleAuth, 'getIdTokenClient'>>;
}

/** ID tokens from Application Default Credentials; the library caches and renews them, so one client is kept. */
export function googleIdToken(options: GoogleIdTokenOptions): IdTokenSource {
  const auth = options.auth ?? (async () => new (await import('google-auth-library')).GoogleAuth());
  let client: Promise<{ getRequestHeaders(url?: string): Promise<Headers | Record<string, string>> }> | undefined;
  return async () => {
    try {
      client ??= auth()
        .then((googleAuth) => googleAuth.getIdTokenClient(options.audience))
        .catch((error: unknown) => {
          client = undefined; // a failed creation is not cached
          throw error;
        });
      const headers = await (await client).getRequestHeaders(options.url);
      const value = headers instanceof Headers ? headers.get('authorization') : (headers.Authorization ?? headers.authorization);
      if (!value) throw new Error('google-auth-library returned no Authorization header');
      return value;
    } catch (error) {
      throw new AdminApiError(
        'identity_token_failed',
        'Could not get a Google ID token from Application Default Credentials. With user credentials, pass ' +
          '--id-token "$(gcloud auth print-identity-token)"; with a service account, set GOOGLE_APPLICATION_CREDENTIALS ' +
          `or run where the metadata server is (${error instanceof Error ? error.message : String(error)})`,
        { cause: error },
      );
    }
  };
}
