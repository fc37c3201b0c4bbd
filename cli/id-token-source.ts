// Where the CLI's Google ID token comes from: one given on the command line, google-auth-library's Application
// Default Credentials (a service account key, impersonation, or the metadata server), or an operator service
// account impersonated with those credentials (how a person gets a token whose audience is the admin URL).
import type { GoogleAuth } from 'google-auth-library';
import { lazy } from '../shared/async/lazy.js';
import { BrokerClientError } from '../client/broker-client-error.js';

/** Returns the `Authorization` header value (`Bearer <ID token>`) for the admin function. */
export type IdTokenSource = () => Promise<string>;

/** An ID token the operator passed (e.g. `gcloud auth print-identity-token`); a leading `Bearer ` is tolerated. */
export function explicitIdToken(token: string): IdTokenSource {
  const bare = token.trim().replace(/^bearer\s+/i, '');
  if (bare === '' || /\s/.test(bare)) throw new TypeError('--id-token must be a single token');
  const header = `Bearer ${bare}`;
  return () => Promise.resolve(header);
}

/** What the sources need of google-auth-library's ID-token clients: headers for a request to `url`. */
interface RequestHeadersClient {
  getRequestHeaders(url?: string): Promise<Headers | Record<string, string>>;
}

/**
 * One client for the whole run (the library caches the token and renews it ahead of expiry); concurrent callers
 * share its creation, and a failed creation is not cached. Failures become `identity_token_failed` with `advice`.
 */
function authorizationFrom(createClient: () => Promise<RequestHeadersClient>, url: string, advice: string): IdTokenSource {
  const client = lazy(createClient);
  return async () => {
    try {
      const headers = await (await client()).getRequestHeaders(url);
      const value = headers instanceof Headers ? headers.get('authorization') : (headers.Authorization ?? headers.authorization);
      if (!value) throw new Error('google-auth-library returned no Authorization header');
      return value;
    } catch (error) {
      throw new BrokerClientError('identity_token_failed', `${advice} (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
  };
}

const defaultAuth = async (): Promise<GoogleAuth> => new (await import('google-auth-library')).GoogleAuth();

export interface GoogleIdTokenOptions {
  /** The audience the admin function accepts (its ID_TOKEN_AUDIENCES); its URL on Cloud Run. */
  readonly audience: string;
  /** The URL requests go to, for the library's per-URL header logic. */
  readonly url: string;
  /** google-auth-library is loaded only when no token was given, so `--id-token` runs skip its import. */
  readonly auth?: () => Promise<Pick<GoogleAuth, 'getIdTokenClient'>>;
}

/** ID tokens from Application Default Credentials. */
export function googleIdToken(options: GoogleIdTokenOptions): IdTokenSource {
  const auth = options.auth ?? defaultAuth;
  return authorizationFrom(
    async () => (await auth()).getIdTokenClient(options.audience),
    options.url,
    'Could not get a Google ID token from Application Default Credentials. With your own gcloud login, impersonate ' +
      'the operator service account: --impersonate-service-account "$(terraform output -raw operator_service_account)"; ' +
      'with a service account, set GOOGLE_APPLICATION_CREDENTIALS or run where the metadata server is',
  );
}

export interface ImpersonatedIdTokenOptions {
  readonly audience: string;
  readonly url: string;
  /** The service account to impersonate: Terraform's `operator_service_account` output. */
  readonly serviceAccount: string;
  /** The operator's own credentials, which must hold Token Creator on that account; Application Default Credentials by default. */
  readonly auth?: () => Promise<Pick<GoogleAuth, 'getClient'>>;
  /** IAM Credentials' base URL; the library's (https://iamcredentials.<universe domain>) unless a stand-in answers. */
  readonly endpoint?: string;
}

/**
 * ID tokens of `serviceAccount`, minted by IAM Credentials' generateIdToken for the operator's own credentials —
 * what `gcloud auth print-identity-token --impersonate-service-account=SA --audiences=URL --include-email` does.
 */
export function impersonatedIdToken(options: ImpersonatedIdTokenOptions): IdTokenSource {
  const auth = options.auth ?? defaultAuth;
  return authorizationFrom(
    async () => {
      const { IdTokenClient, Impersonated } = await import('google-auth-library');
      const sourceClient = await (await auth()).getClient();
      const impersonated = new Impersonated({
        sourceClient,
        targetPrincipal: options.serviceAccount,
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      });
      // The admin function admits the token's email (ADMIN_ALLOWLIST); without includeEmail it carries none.
      const idTokenProvider = { fetchIdToken: (audience: string) => impersonated.fetchIdToken(audience, { includeEmail: true }) };
      return new IdTokenClient({ targetAudience: options.audience, idTokenProvider });
    },
    options.url,
    `Could not get an ID token as ${options.serviceAccount}. Your Application Default Credentials ` +
      '(gcloud auth application-default login) need roles/iam.serviceAccountTokenCreator on it, which Terraform grants ' +
      'to operator_members, and the IAM Service Account Credentials API must be enabled',
  );
}
