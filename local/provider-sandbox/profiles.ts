// How each provider behaves on the wire, written from the provider's documentation, independently of shared/providers.
import type { BehaviourDefaults } from './sandbox-state.js';

export interface TokenReplyContext {
  readonly grant: 'authorization_code' | 'refresh_token' | 'client_credentials';
  readonly accessToken: string;
  readonly refreshToken?: string;
  readonly expiresIn?: number;
  readonly scope: string;
  readonly account: string;
  readonly clientId: string;
  readonly extra: Readonly<Record<string, string>>;
  readonly idToken?: string;
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  /** GitHub's default token reply is form-encoded. */
  readonly form?: boolean;
}

export type RevocationStyle = 'rfc7009-form' | 'bearer' | 'github' | 'notion-json' | 'trello';

export interface SandboxProfile {
  readonly id: string;
  readonly authorize: string;
  readonly token: string;
  readonly clientAuth: 'basic' | 'post';
  readonly bodyFormat: 'form' | 'json';
  readonly pkce: 'optional' | 'required' | 'unsupported';
  readonly iss?: string;
  readonly idToken?: {
    readonly issuer: (extra: Readonly<Record<string, string>>, account: string) => string;
    readonly claims?: (extra: Readonly<Record<string, string>>, account: string) => Record<string, string>;
  };
  readonly defaults: BehaviourDefaults;
  readonly tokenPrefix: string;
  /** Required extra authorization parameters and their values. */
  readonly requiredAuthorizeParams?: Readonly<Record<string, string>>;
  /** Required extra token request parameters and their values (an `audience`, a `resource`). */
  readonly requiredTokenParams?: Readonly<Record<string, string>>;
  readonly error: (code: string, operation: 'token' | 'refresh') => Reply;
  readonly tokenBody: (context: TokenReplyContext) => Reply;
  readonly revoke?: {
    readonly url: string;
    readonly method: 'POST' | 'DELETE';
    readonly style: RevocationStyle;
    /** How an rfc7009-form revocation authenticates the client, when the profile says so explicitly. */
    readonly clientAuth?: 'basic' | 'post' | 'none';
  };
  readonly identity: readonly {
    readonly url: string;
    readonly method: 'GET' | 'POST';
    readonly body: (account: string, extra: Readonly<Record<string, string>>) => unknown;
    /** The JSON body the call must carry (a GraphQL query), else it is refused with 400 as the provider would. */
    readonly requestBody?: Readonly<Record<string, string>>;
  }[];
  /** Errors of identity calls with a dead token (Slack: 200 ok:false). */
  readonly identityError?: () => Reply;
  /** App-only tokens: refuses what the provider refuses (a tenant-less authority, a non-My-Domain host...), else answers. */
  readonly clientCredentials?: {
    readonly refuse: (params: Readonly<Record<string, string>>, fields: Readonly<Record<string, string>>) => Reply | undefined;
    /** The account the app-only token acts as (Salesforce's run-as user). */
    readonly account: string;
    readonly tokenBody: (context: TokenReplyContext) => Reply;
  };
  /** A fresh key in the provider's own format, for API-key connections. */
  readonly apiKey?: (random: string) => string;
  /** Whether the token endpoint issues refresh tokens (on code exchange; on refresh only when rotating). */
  readonly issuesRefreshTokens: boolean;
}

/** Values route variables may take: a `{loginHost}` is one of Salesforce's login hosts, anything else one path segment. */
export const routeVariables: Readonly<Record<string, RegExp>> = {
  loginHost: /login\.salesforce\.com|test\.salesforce\.com|[a-z0-9-]+(?:--[a-z0-9-]+)?(?:\.sandbox)?\.my\.salesforce\.com/,
  /** An org's instance (its My Domain), where its REST API lives. */
  instanceHost: /[a-z0-9-]+(?:--[a-z0-9-]+)?(?:\.sandbox)?\.my\.salesforce\.com/,
};

/** The instance of the orgs behind the generic login hosts: the token reply's instance_url. */
export const SALESFORCE_SANDBOX_INSTANCE = 'sandbox-org.my.salesforce.com';

/** Hosts behind route variables that the sandbox's origin overrides list (a test may reach only these). */
export const SALESFORCE_MY_DOMAIN = 'acme.my.salesforce.com';
export const variableHosts = ['login.salesforce.com', 'test.salesforce.com', SALESFORCE_MY_DOMAIN, 'acme--uat.sandbox.my.salesforce.com', SALESFORCE_SANDBOX_INSTANCE] as const;

/** The tenant of Microsoft personal accounts (documented), and the one a sandbox work account lives in. */
export const MSA_TENANT_ID = '9188040d-6c67-4c5b-b112-36a304b66dad';
export function sandboxMicrosoftTenantId(tenant: string, account: string): string {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(tenant)) return tenant.toLowerCase();
  if (tenant === 'consumers') return MSA_TENANT_ID;
  // common, organizations or a verified domain: the work tenant the account belongs to.
  return `${hexId(tenant.includes('.') ? tenant : account, 8)}-5ade-4b0c-8e11-000000000000`;
}

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const rfcError = (status = 400) => (code: string): Reply => ({ status, body: { error: code, error_description: 'sandbox error' } });
const email = (account: string) => `${account}@sandbox.test`;
const standardBody = (c: TokenReplyContext, extra: Record<string, unknown> = {}): Reply => ({
  status: 200,
  body: {
    access_token: c.accessToken,
    token_type: 'Bearer',
    ...(c.expiresIn === undefined ? {} : { expires_in: c.expiresIn }),
    ...(c.refreshToken === undefined ? {} : { refresh_token: c.refreshToken }),
    scope: c.scope,
    ...(c.idToken === undefined ? {} : { id_token: c.idToken }),
    ...extra,
  },
});

export const SMART_BASE = 'https://fhir.sandbox.test/r4';
/** PROVIDER_ENDPOINT_ALLOWLIST for the servers the sandbox plays where a connection names its server (SMART). */
export const SANDBOX_ENDPOINT_ALLOWLIST = { smart_on_fhir: { issuers: [SMART_BASE], origins: [] } } as const;

/**
 * Google's consent screen lets a user grant access for a limited time; the scripted consent stands for that choice
 * with an account named `<name>.time-based-<seconds>` (the code exchange then carries refresh_token_expires_in).
 */
export function googleTimeBasedAccount(name: string, seconds: number): string {
  return `${name}.time-based-${seconds}`;
}
const googleTimeBased = /\.time-based-(\d+)$/;
const hexId = (account: string, length: number) => Buffer.from(account).toString('hex').padEnd(length, '0').slice(0, length);

export const sandboxProfiles: readonly SandboxProfile[] = [
  {
    id: 'slack',
    authorize: 'https://slack.com/oauth/v2/authorize',
    token: 'https://slack.com/api/oauth.v2.access',
    clientAuth: 'basic',
    bodyFormat: 'form',
    pkce: 'unsupported',
    defaults: { tokenLifetimeSeconds: 43_200, rotate: true },
    tokenPrefix: 'xoxe.xoxb-sbx-',
    issuesRefreshTokens: true,
    error: (code) => ({ status: 200, body: { ok: false, error: code === 'invalid_grant' ? 'invalid_refresh_token' : code } }),
    tokenBody: (c) => {
      const token = {
        access_token: c.accessToken,
        // Slack lists scopes with commas.
        scope: c.scope.split(' ').filter(Boolean).join(','),
        ...(c.expiresIn === undefined ? {} : { expires_in: c.expiresIn }),
        ...(c.refreshToken === undefined ? {} : { refresh_token: c.refreshToken }),
      };
      if (c.grant === 'refresh_token') return { status: 200, body: { ok: true, token_type: c.extra.user_scope ? 'user' : 'bot', ...token } };
      const team = { id: `T${hexId(c.account, 8).toUpperCase()}`, name: `${c.account} workspace` };
      if (c.extra.user_scope) {
        return { status: 200, body: { ok: true, app_id: 'A1', team, enterprise: null, authed_user: { id: 'U1', token_type: 'user', ...token } } };
      }
      return { status: 200, body: { ok: true, app_id: 'A1', token_type: 'bot', bot_user_id: 'UBOT', team, enterprise: null, authed_user: { id: 'U1' }, ...token } };
    },
    revoke: { url: 'https://slack.com/api/auth.revoke', method: 'POST', style: 'bearer' },
    identity: [
      {
        url: 'https://slack.com/api/auth.test',
        method: 'POST',
        body: (account) => ({ ok: true, team: `${account} workspace`, team_id: `T${hexId(account, 8).toUpperCase()}`, user_id: 'UBOT' }),
      },
    ],
    identityError: () => ({ status: 200, body: { ok: false, error: 'invalid_auth' } }),
  },
  {
    id: 'google',
    authorize: 'https://accounts.google.com/o/oauth2/v2/auth',
    token: 'https://oauth2.googleapis.com/token',
    clientAuth: 'post',
    bodyFormat: 'form',
    pkce: 'optional',
    iss: 'https://accounts.google.com',
    idToken: { issuer: () => 'https://accounts.google.com' },
    issuesRefreshTokens: true,
    defaults: { tokenLifetimeSeconds: 3599, rotate: false },
    tokenPrefix: 'ya29.sbx-',
    requiredAuthorizeParams: { access_type: 'offline', prompt: 'consent' },
    // A dead refresh token (revoked, Testing-mode 7 days, time-based access over): 400 with this description.
    error: (code) => ({ status: 400, body: { error: code, error_description: code === 'invalid_grant' ? 'Token has been expired or revoked.' : 'sandbox error' } }),
    // Time-based access: the code exchange reply says how long the refresh token has left.
    tokenBody: (c) => {
      const timeBased = googleTimeBased.exec(c.account)?.[1];
      return standardBody(c, c.grant === 'authorization_code' && timeBased !== undefined ? { refresh_token_expires_in: Number(timeBased) } : {});
    },
    revoke: { url: 'https://oauth2.googleapis.com/revoke', method: 'POST', style: 'rfc7009-form' },
    identity: [
      { url: 'https://openidconnect.googleapis.com/v1/userinfo', method: 'GET', body: (a) => ({ sub: `g-${a}`, email: email(a), name: a }) },
      // Gmail's users.getProfile: the health check of connections with a Gmail scope (through @googleapis/gmail).
      {
        url: 'https://gmail.googleapis.com/gmail/v1/users/me/profile',
        method: 'GET',
        body: (a) => ({ emailAddress: email(a), messagesTotal: 42, threadsTotal: 40, historyId: '1001' }),
      },
    ],
  },
  {
    id: 'microsoft',
    authorize: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize',
    token: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
    clientAuth: 'post',
    bodyFormat: 'form',
    pkce: 'optional',
    idToken: {
      issuer: (extra, account) => `https://login.microsoftonline.com/${sandboxMicrosoftTenantId(extra.tenant ?? 'common', account)}/v2.0`,
      claims: (extra, account) => ({ tid: sandboxMicrosoftTenantId(extra.tenant ?? 'common', account) }),
    },
    issuesRefreshTokens: true,
    clientCredentials: {
      // Client credentials need one tenant and one resource's /.default scope.
      refuse: (params, fields) => {
        if (!guid.test(params.tenant ?? '') && !(params.tenant ?? '').includes('.')) {
          return { status: 400, body: { error: 'invalid_request', error_description: 'AADSTS90002: sandbox: client credentials need a specific tenant', error_codes: [90002] } };
        }
        if (!/^\S+\/\.default$/.test(fields.scope ?? '')) {
          return { status: 400, body: { error: 'invalid_scope', error_description: 'AADSTS1002012: Client credential flows must have a scope value with /.default suffixed', error_codes: [1002012] } };
        }
        return undefined;
      },
      account: 'app',
      tokenBody: (c) => ({ status: 200, body: { token_type: 'Bearer', expires_in: c.expiresIn, ext_expires_in: c.expiresIn, access_token: c.accessToken } }),
    },
    // Microsoft returns a new refresh token on every use but does not revoke the old one.
    defaults: { tokenLifetimeSeconds: 4432, rotate: true, invalidateRotated: false },
    tokenPrefix: 'eyJ0eXAi.sbx-',
    error: (code) => ({ status: 400, body: { error: code, error_description: 'AADSTS700082: sandbox', error_codes: [700082] } }),
    tokenBody: (c) => standardBody(c, { ext_expires_in: c.expiresIn }),
    identity: [
      {
        url: 'https://graph.microsoft.com/v1.0/me',
        method: 'GET',
        body: (a) => ({ id: `ms-${a}`, displayName: a, mail: email(a), userPrincipalName: email(a) }),
      },
    ],
  },
  {
    id: 'notion',
    authorize: 'https://api.notion.com/v1/oauth/authorize',
    token: 'https://api.notion.com/v1/oauth/token',
    clientAuth: 'basic',
    bodyFormat: 'json',
    pkce: 'unsupported',
    defaults: { tokenLifetimeSeconds: null, rotate: true },
    tokenPrefix: 'ntn_sbx',
    issuesRefreshTokens: true,
    requiredAuthorizeParams: { owner: 'user' },
    error: rfcError(),
    tokenBody: (c) => ({
      status: 200,
      body: {
        access_token: c.accessToken,
        token_type: 'bearer',
        refresh_token: c.refreshToken ?? null,
        bot_id: `bot-${c.account}`,
        workspace_id: `ws-${c.account}`,
        workspace_name: `${c.account}'s Notion`,
        workspace_icon: null,
        owner: { type: 'user', user: { object: 'user', id: `user-${c.account}` } },
        duplicated_template_id: null,
        request_id: 'req-1',
      },
    }),
    revoke: { url: 'https://api.notion.com/v1/oauth/revoke', method: 'POST', style: 'notion-json' },
    identity: [{ url: 'https://api.notion.com/v1/users/me', method: 'GET', body: (a) => ({ object: 'user', id: `bot-${a}`, name: 'Sandbox bot', type: 'bot' }) }],
  },
  {
    id: 'salesforce',
    authorize: 'https://{loginHost}/services/oauth2/authorize',
    token: 'https://{loginHost}/services/oauth2/token',
    clientAuth: 'post',
    bodyFormat: 'form',
    pkce: 'optional',
    defaults: { tokenLifetimeSeconds: null, rotate: false },
    tokenPrefix: '00Dsbx!',
    issuesRefreshTokens: true,
    error: rfcError(),
    tokenBody: (c) => salesforceTokenBody(c),
    revoke: { url: 'https://{loginHost}/services/oauth2/revoke', method: 'POST', style: 'rfc7009-form' },
    identity: [
      {
        url: 'https://{loginHost}/services/oauth2/userinfo',
        method: 'GET',
        body: (a, extra) => ({ organization_id: salesforceOrgId(extra.loginHost), user_id: `005${hexId(a, 15)}`, preferred_username: email(a) }),
      },
    ],
    clientCredentials: {
      // The client credentials flow is served on My Domain hosts only.
      refuse: (params) =>
        /\.my\.salesforce\.com$/.test(params.loginHost ?? '') ? undefined : { status: 400, body: { error: 'invalid_grant', error_description: 'request not supported on this domain' } },
      account: 'integration',
      tokenBody: (c) => salesforceTokenBody({ ...c, scope: 'api' }),
    },
  },
  {
    id: 'hubspot',
    authorize: 'https://app.hubspot.com/oauth/authorize',
    token: 'https://api.hubapi.com/oauth/2026-03/token',
    clientAuth: 'post',
    bodyFormat: 'form',
    pkce: 'optional',
    defaults: { tokenLifetimeSeconds: 1800, rotate: false },
    tokenPrefix: 'CNbx-sbx-',
    issuesRefreshTokens: true,
    apiKey: (random) => `pat-na1-${random.slice(0, 8)}-${random.slice(8, 12)}-4${random.slice(13, 16)}-8${random.slice(17, 20)}-${random.slice(20, 32)}`,
    error: (code) => ({ status: 400, body: { error: code, status: 'BAD_REFRESH_TOKEN', message: 'sandbox' } }),
    tokenBody: (c) => standardBody(c, { token_type: 'bearer', hub_id: 4242 }),
    revoke: { url: 'https://api.hubapi.com/oauth/2026-03/token/revoke', method: 'POST', style: 'rfc7009-form' },
    identity: [
      {
        url: 'https://api.hubapi.com/account-info/2026-03/details',
        method: 'GET',
        body: () => ({ portalId: 4242, accountType: 'STANDARD', timeZone: 'US/Eastern', uiDomain: 'app.hubspot.com', dataHostingLocation: 'na1' }),
      },
    ],
  },
  {
    id: 'dropbox',
    authorize: 'https://www.dropbox.com/oauth2/authorize',
    token: 'https://api.dropboxapi.com/oauth2/token',
    clientAuth: 'post',
    bodyFormat: 'form',
    pkce: 'optional',
    defaults: { tokenLifetimeSeconds: 14_400, rotate: false },
    tokenPrefix: 'sl.sbx-',
    issuesRefreshTokens: true,
    requiredAuthorizeParams: { token_access_type: 'offline' },
    error: rfcError(),
    tokenBody: (c) => standardBody(c, { token_type: 'bearer', account_id: `dbid:${c.account}`, uid: '12345' }),
    revoke: { url: 'https://api.dropboxapi.com/2/auth/token/revoke', method: 'POST', style: 'bearer' },
    identity: [
      { url: 'https://api.dropboxapi.com/2/users/get_current_account', method: 'POST', body: (a) => ({ account_id: `dbid:${a}`, email: email(a), name: { display_name: a } }) },
    ],
  },
  {
    id: 'asana',
    authorize: 'https://app.asana.com/-/oauth_authorize',
    token: 'https://app.asana.com/-/oauth_token',
    clientAuth: 'post',
    bodyFormat: 'form',
    pkce: 'optional',
    defaults: { tokenLifetimeSeconds: 3600, rotate: false },
    tokenPrefix: '2/sbx-',
    issuesRefreshTokens: true,
    error: rfcError(),
    tokenBody: (c) => standardBody(c, { token_type: 'bearer', data: { id: 1, gid: `gid-${c.account}`, name: c.account, email: email(c.account) } }),
    revoke: { url: 'https://app.asana.com/-/oauth_revoke', method: 'POST', style: 'rfc7009-form' },
    identity: [{ url: 'https://app.asana.com/api/1.0/users/me', method: 'GET', body: (a) => ({ data: { gid: `gid-${a}`, email: email(a), name: a } }) }],
  },
  ...(['github', 'github_app'] as const).map(
    (id): SandboxProfile => ({
      id,
      authorize: 'https://github.com/login/oauth/authorize',
      token: 'https://github.com/login/oauth/access_token',
      clientAuth: 'post',
      bodyFormat: 'form',
      pkce: 'optional',
      defaults: id === 'github' ? { tokenLifetimeSeconds: null, rotate: false } : { tokenLifetimeSeconds: 28_800, rotate: true },
      tokenPrefix: id === 'github' ? 'gho_sbx' : 'ghu_sbx',
      // OAuth App tokens never expire and come without a refresh token.
      issuesRefreshTokens: id === 'github_app',
      // GitHub answers errors with HTTP 200 and a form-encoded body.
      error: (code) => ({ status: 200, form: true, body: { error: code === 'invalid_grant' ? 'bad_refresh_token' : code, error_description: 'sandbox' } }),
      tokenBody: (c) => ({
        status: 200,
        form: true,
        body: {
          access_token: c.accessToken,
          scope: c.scope.split(' ').filter(Boolean).join(','),
          token_type: 'bearer',
          ...(c.expiresIn === undefined ? {} : { expires_in: String(c.expiresIn) }),
          ...(c.refreshToken === undefined ? {} : { refresh_token: c.refreshToken, refresh_token_expires_in: '15897600' }),
        },
      }),
      revoke: { url: 'https://api.github.com/applications/{clientId}/token', method: 'DELETE', style: 'github' },
      identity: [{ url: 'https://api.github.com/user', method: 'GET', body: (a) => ({ id: 1000 + a.length, login: a }) }],
    }),
  ),
  {
    id: 'atlassian',
    authorize: 'https://auth.atlassian.com/authorize',
    token: 'https://auth.atlassian.com/oauth/token',
    clientAuth: 'post',
    bodyFormat: 'json',
    pkce: 'unsupported',
    defaults: { tokenLifetimeSeconds: 3600, rotate: true },
    tokenPrefix: 'eyJraWQi.sbx-',
    issuesRefreshTokens: true,
    requiredAuthorizeParams: { audience: 'api.atlassian.com', prompt: 'consent' },
    // A dead Atlassian refresh token is answered 403.
    error: (code, operation) => ({ status: operation === 'refresh' && code === 'invalid_grant' ? 403 : 400, body: { error: code, error_description: 'Unknown or invalid refresh token.' } }),
    tokenBody: (c) => standardBody(c),
    identity: [
      { url: 'https://api.atlassian.com/me', method: 'GET', body: (a) => ({ account_id: `acc-${a}`, email: email(a), name: a }) },
      {
        url: 'https://api.atlassian.com/oauth/token/accessible-resources',
        method: 'GET',
        body: () => [
          { id: 'cloud-1111', url: 'https://sandbox-one.atlassian.net', name: 'one', scopes: [] },
          { id: 'cloud-2222', url: 'https://sandbox-two.atlassian.net', name: 'two', scopes: [] },
        ],
      },
    ],
  },
  {
    id: 'zoom',
    authorize: 'https://zoom.us/oauth/authorize',
    token: 'https://zoom.us/oauth/token',
    clientAuth: 'basic',
    bodyFormat: 'form',
    pkce: 'optional',
    defaults: { tokenLifetimeSeconds: 3599, rotate: true },
    tokenPrefix: 'eyJzdiI.sbx-',
    issuesRefreshTokens: true,
    error: (code) => ({ status: 400, body: { reason: 'Invalid Token!', error: code } }),
    tokenBody: (c) => standardBody(c, { token_type: 'bearer', api_url: 'https://api.zoom.us' }),
    revoke: { url: 'https://zoom.us/oauth/revoke', method: 'POST', style: 'rfc7009-form' },
    identity: [{ url: 'https://api.zoom.us/v2/users/me', method: 'GET', body: (a) => ({ id: `zoom-${a}`, email: email(a), account_id: 'zacct-1' }) }],
  },
  {
    id: 'smart_on_fhir',
    authorize: 'https://fhir.sandbox.test/auth/authorize',
    token: 'https://fhir.sandbox.test/auth/token',
    clientAuth: 'basic',
    bodyFormat: 'form',
    pkce: 'required',
    defaults: { tokenLifetimeSeconds: 3600, rotate: false },
    tokenPrefix: 'smart-sbx-',
    issuesRefreshTokens: true,
    requiredAuthorizeParams: { aud: SMART_BASE },
    error: rfcError(),
    tokenBody: (c) => standardBody(c, { patient: `pat-${c.account}`, encounter: 'enc-1', fhirUser: `Practitioner/${c.account}`, need_patient_banner: true }),
    revoke: { url: 'https://fhir.sandbox.test/auth/revoke', method: 'POST', style: 'rfc7009-form' },
    identity: [{ url: `${SMART_BASE}/metadata`, method: 'GET', body: () => ({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1' }) }],
  },
];

function salesforceOrgId(loginHost: string | undefined): string {
  // One org per login host, so a connection made on another host is visibly another account.
  return loginHost === 'login.salesforce.com' || loginHost === undefined ? '00D000000000001AAA' : `00D${hexId(loginHost, 12)}AAA`;
}

function salesforceTokenBody(c: TokenReplyContext): Reply {
  const host = c.extra.loginHost ?? 'login.salesforce.com';
  // On the generic login hosts the org's API lives on its My Domain; on a My Domain it is that host.
  const instance = host.endsWith('.my.salesforce.com') ? host : SALESFORCE_SANDBOX_INSTANCE;
  return {
    status: 200,
    body: {
      access_token: c.accessToken,
      ...(c.refreshToken === undefined ? {} : { refresh_token: c.refreshToken }),
      signature: 'c2FuZGJveA==',
      scope: c.scope,
      instance_url: `https://${instance}`,
      id: `https://${host}/id/${salesforceOrgId(host)}/005${hexId(c.account, 15)}`,
      token_type: 'Bearer',
      issued_at: '1893456000000',
    },
  };
}

export const trelloUrls = {
  requestToken: 'https://trello.com/1/OAuthGetRequestToken',
  authorize: 'https://trello.com/1/OAuthAuthorizeToken',
  accessToken: 'https://trello.com/1/OAuthGetAccessToken',
  member: 'https://api.trello.com/1/members/me',
  tokens: 'https://api.trello.com/1/tokens/',
} as const;
