// The environment Terraform gives each function is that function's entry in functions/manifest.json, with a value for
// every name; each function loads with exactly that environment and reads nothing it is not given.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { functionConfigReads } from '../../functions/config-reads.js';
import { functionNames } from '../../functions/names.js';
import { readFunctionManifest } from '../../local/function-manifest.js';
import type { Configuration } from '../../scripts/terraform-check/load-configuration.js';
import { bodiesOf, isBody, loadConfiguration } from '../../scripts/terraform-check/load-configuration.js';
import { isConfigVariableName, loadConfig } from '../../shared/config/config.js';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Providers the representative deployment enables. */
const sampleProviders = ['slack', 'google'] as const;

/** Stand-ins for what Terraform only knows at apply time; a value expression missing here fails the test. */
const applyTimeValues: Readonly<Record<string, string>> = {
  'var.project_id': 'my-broker-project',
  'google_firestore_database.broker.name': '(default)',
  'google_kms_crypto_key.token_sealing.id': 'projects/my-broker-project/locations/europe-west1/keyRings/oauth-broker-keys/cryptoKeys/token-sealing',
  'var.log_level': 'INFO',
  'google_pubsub_topic.connection_events.id': 'projects/my-broker-project/topics/connection-events',
  'local.redirect_uri': 'https://europe-west1-my-broker-project.cloudfunctions.net/oauth-broker-callback',
  'join(",", var.return_url_allowlist)': 'https://app.example.com/connected,https://app.example.com/settings',
  'jsonencode(var.caller_policy)': JSON.stringify([
    { serviceAccount: 'mail-sync@my-product-project.iam.gserviceaccount.com', tenants: '*', providers: ['google'], actions: ['read_token'] },
  ]),
  'jsonencode(var.caller_quotas)': JSON.stringify({
    token: { perCaller: { requests: 600, perSeconds: 60 }, perTenant: { requests: 300, perSeconds: 60 } },
    callers: { 'batch-export@my-product-project.iam.gserviceaccount.com': 'unlimited' },
  }),
  'jsonencode(var.oidc_providers)': JSON.stringify([{ id: 'okta_acme', displayName: 'Acme Okta', issuer: 'https://acme.okta.com' }]),
  'jsonencode(var.oauth2_providers)': JSON.stringify([
    {
      id: 'acme_crm',
      displayName: 'Acme CRM',
      authorizationUrl: 'https://login.acme-crm.example/oauth/authorize',
      tokenUrl: 'https://login.acme-crm.example/oauth/token',
      pkce: { method: 'S256' },
      clientAuthentication: 'client_secret_basic',
      refresh: { supported: true, rotates: 'always', deadGrantErrors: ['invalid_grant'] },
      whenNoExpiresIn: { kind: 'assume-lifetime', seconds: 3600 },
      revocation: { kind: 'none', reason: 'Acme CRM has no revocation endpoint' },
      identity: { url: 'https://api.acme-crm.example/v1/me', accountId: '/id', email: '/email' },
    },
  ]),
  'join(",", local.admin_allowlist)': 'oauth-broker-operator@my-broker-project.iam.gserviceaccount.com,ops@example.com',
  'google_service_account.scheduler.email': 'oauth-broker-scheduler@my-broker-project.iam.gserviceaccount.com',
  'var.iap_audience': '/projects/123456789012/global/backendServices/4567890123456789',
  'local.scheduler_job_names["refresh"]': 'projects/my-broker-project/locations/europe-west1/jobs/oauth-broker-refresh',
  'var.region': 'europe-west1',
  'jsonencode(var.provider_endpoint_allowlist)': JSON.stringify({ smart_on_fhir: { issuers: ['https://fhir.hospital.example/api/FHIR/R4'], origins: ['https://auth.hospital.example'] } }),
  'length(var.connect_confirmation_tenants) == 0 ? "none" : join(",", var.connect_confirmation_tenants)': '*',
};

const functionUrl = (name: string) => `https://europe-west1-my-broker-project.cloudfunctions.net/oauth-broker-${name}`;

function local(configuration: Configuration, name: string): unknown {
  const block = configuration.blocks.find((candidate) => candidate.kind === 'locals' && candidate.name === name);
  if (block === undefined) throw new Error(`local.${name} is not declared`);
  return block.body.value;
}

function functionResource(configuration: Configuration) {
  const functions = configuration.blocks.filter((block) => block.type === 'google_cloudfunctions2_function');
  expect(functions).toHaveLength(1);
  const serviceConfig = bodiesOf(functions[0]?.body.service_config)[0];
  if (serviceConfig === undefined) throw new Error('the function has no service_config');
  return serviceConfig;
}

/** local.environment_values: variable name → the value its Terraform expression stands for here. */
function environmentValues(configuration: Configuration): Record<string, string> {
  const values = local(configuration, 'environment_values');
  if (!isBody(values)) throw new Error('local.environment_values is not a map literal');
  return Object.fromEntries(
    Object.entries(values).map(([name, raw]) => {
      const expression = /^\$\{([\s\S]*)\}$/.exec(String(raw))?.[1];
      if (expression === undefined) return [name, String(raw)];
      const value = applyTimeValues[expression];
      if (value === undefined) throw new Error(`${name} = ${expression}: add a representative value for it to applyTimeValues`);
      return [name, value];
    }),
  );
}

/** One function's environment as deployed: its manifest names with their values, client settings, Cloud Run's own. */
function deployedEnvironment(name: (typeof functionNames)[number], values: Record<string, string>): Record<string, string> {
  const entry = readFunctionManifest().functions[name];
  const env: Record<string, string> = { K_SERVICE: `oauth-broker-${name}`, FUNCTION_TARGET: name };
  for (const variable of entry.environment) env[variable] = variable === 'ID_TOKEN_AUDIENCES' ? functionUrl(name) : (values[variable] as string);
  for (const provider of sampleProviders) {
    if (entry.providerCredentials !== 'none') env[`PROVIDER_${provider.toUpperCase()}_CLIENT_ID`] = `client-id-of-${provider}`;
    if (entry.providerCredentials === 'client_ids_and_secrets') env[`PROVIDER_${provider.toUpperCase()}_CLIENT_SECRET`] = `secret-of-${provider}`;
  }
  return env;
}

describe('the functions environment in terraform/', () => {
  it('is the function manifest: local.functions reads it and each function gets its own entry', async () => {
    const { configuration } = await loadConfiguration(join(repositoryRoot, 'terraform'));
    expect(local(configuration, 'functions')).toBe('${jsondecode(file("${path.module}/../functions/manifest.json")).functions}');
    const serviceConfig = functionResource(configuration);
    expect(serviceConfig.environment_variables).toBe('${local.function_environment[each.key]}');
    expect(String(local(configuration, 'function_environment'))).toMatch(/for variable in fn\.environment/);
    // Secrets only where the manifest gives them.
    const dynamic = isBody(serviceConfig.dynamic) ? [serviceConfig.dynamic] : bodiesOf(serviceConfig.dynamic);
    const secrets = dynamic.flatMap((body) => bodiesOf(body.secret_environment_variables));
    expect(secrets).toHaveLength(1);
    expect(String(secrets[0]?.for_each)).toContain('each.value.providerCredentials == "client_ids_and_secrets"');
    expect(bodiesOf(secrets[0]?.content)[0]?.key).toBe('PROVIDER_${upper(secret_environment_variables.value)}_CLIENT_SECRET');
  });

  it('has a value for every variable the manifest names, and no value nothing is given', async () => {
    const { configuration } = await loadConfiguration(join(repositoryRoot, 'terraform'));
    const named = new Set(Object.values(readFunctionManifest().functions).flatMap((entry) => entry.environment));
    const valued = new Set([...Object.keys(environmentValues(configuration)), 'ID_TOKEN_AUDIENCES']);
    expect([...named].filter((name) => !valued.has(name))).toEqual([]);
    expect([...valued].filter((name) => !named.has(name))).toEqual([]);
    expect([...valued].filter((name) => !isConfigVariableName(name))).toEqual([]);
  });

  it('loads every function from exactly its deployed environment, only the sweeps trusting Cloud Run IAM', async () => {
    const { configuration } = await loadConfiguration(join(repositoryRoot, 'terraform'));
    const values = environmentValues(configuration);
    for (const name of functionNames) {
      const config = loadConfig(deployedEnvironment(name, values), { functionName: name, sections: functionConfigReads[name] });
      expect(config.projectId).toBe('my-broker-project');
      if (name !== 'callback') expect({ name, audiences: config.callerIdentity.audiences }).toEqual({ name, audiences: [functionUrl(name)] });
      if (name === 'refresh' || name === 'health') expect(config.scheduler.trustCloudRunIam).toBe(true);
      expect(config.kms.keyName).toMatch(/cryptoKeys\/token-sealing$/);
    }
    const authorize = loadConfig(deployedEnvironment('authorize', values), { functionName: 'authorize', sections: functionConfigReads.authorize });
    expect(authorize.providerClients).toEqual({ slack: { clientId: 'client-id-of-slack' }, google: { clientId: 'client-id-of-google' } });
    expect(authorize.connect.callbackUrl).toBe(functionUrl('callback'));
    expect(authorize.connect.returnUrlAllowlist).toEqual(['https://app.example.com/connected', 'https://app.example.com/settings']);
    const admin = loadConfig(deployedEnvironment('admin', values), { functionName: 'admin', sections: functionConfigReads.admin });
    expect(admin.admin.schedulerRefreshJob).toBe('projects/my-broker-project/locations/europe-west1/jobs/oauth-broker-refresh');
    expect(admin.admin.iap.audience).toBe('/projects/123456789012/global/backendServices/4567890123456789');
    expect(loadConfig({ ...deployedEnvironment('admin', values), IAP_AUDIENCE: '' }).admin.iap.audience).toBeUndefined();
    // What a function is not given, it cannot read: the callback has no caller identity section at all.
    const callback = loadConfig(deployedEnvironment('callback', values), { functionName: 'callback', sections: functionConfigReads.callback });
    expect(() => callback.callerIdentity).toThrow(/The callback function read config\.callerIdentity/);
  });
});
