// SMART on FHIR (Epic-style) servers: discovery via .well-known/smart-configuration, PKCE required, aud, launch context.
import { z } from 'zod';
import { defineProvider } from '../definition-schema.js';

const httpsUrl = z.string().url().refine((value) => value.startsWith('https://') && !value.endsWith('/'), 'must be an https URL without a trailing slash');

const launchContext = z.object({ patient: z.string().optional(), encounter: z.string().optional(), fhirUser: z.string().optional() }).loose();

export const smartOnFhir = defineProvider({
  id: 'smart_on_fhir',
  displayName: 'SMART on FHIR',
  protocol: 'oauth2',
  connectionConfigSchema: z.object({ fhirBaseUrl: httpsUrl }).strict(),
  endpoints: { discovery: 'smart', issuer: '{fhirBaseUrl}' },
  scopes: {
    separator: ' ',
    defaults: ['openid', 'fhirUser', 'offline_access', 'launch/patient'],
    allowed: { kind: 'pattern', pattern: /openid|fhirUser|offline_access|online_access|launch(\/[a-z]+)?|(patient|user|system)\/[A-Za-z*]+\.(read|write|\*|[cruds]+)/ },
  },
  pkce: { method: 'S256', required: true },
  clientAuthentication: 'client_secret_basic',
  // The proxy's destination. FHIR REST calls go to the server's base URL, the token's aud (https://hl7.org/fhir/smart-app-launch/app-launch.html).
  api: { baseUrl: '{fhirBaseUrl}' },
  tokenRequest: {
    bodyFormat: 'form',
    readReply: (body, { connectionConfig }) => {
      const context = launchContext.parse(body);
      const accountId = context.fhirUser ?? (context.patient ? `Patient/${context.patient}` : undefined);
      return {
        metadata: {
          fhirBaseUrl: connectionConfig.fhirBaseUrl ?? '',
          ...(context.patient ? { patient: context.patient } : {}),
          ...(context.encounter ? { encounter: context.encounter } : {}),
          ...(context.fhirUser ? { fhirUser: context.fhirUser } : {}),
        },
        ...(accountId ? { account: { accountId } } : {}),
      };
    },
  },
  // SMART App Launch: aud names the FHIR server the token is for.
  authorizationParams: { aud: '{fhirBaseUrl}' },
  refresh: { supported: true, rotates: 'sometimes', deadGrantErrors: ['invalid_grant'] },
  whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 3600 },
  revocation: {
    kind: 'rfc7009',
    url: 'discovered',
    token: 'refresh_token_else_access_token',
    sendTokenTypeHint: true,
    clientAuthentication: 'client_secret_basic',
  },
  identity: {
    kind: 'requests',
    requests: [{ name: 'metadata', request: { method: 'GET', url: '{fhirBaseUrl}/metadata', bearer: 'access_token', headers: { accept: 'application/fhir+json' } } }],
    parse: ({ metadata }, { metadata: known }) => {
      const statement = z.object({ resourceType: z.literal('CapabilityStatement') }).loose().parse(metadata);
      const account = known.fhirUser ?? (known.patient ? `Patient/${known.patient}` : undefined);
      if (!account || !statement) throw new Error('no launch context to name the account');
      return { accountId: account };
    },
  },
  metadataKeys: ['patient', 'encounter', 'fhirUser', 'fhirBaseUrl'],
  decisions: ['The account is the fhirUser (or patient) from the launch context; the id_token is not read, as not every server issues one.'],
});
