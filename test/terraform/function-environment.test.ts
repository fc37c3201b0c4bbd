// The environment Terraform gives the functions is the one shared/config/config.ts reads: every name known, and
// a representative environment built from the Terraform values loads.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import { afterEach, describe, expect, it } from 'vitest';
import type { Configuration } from '../../scripts/terraform-check/load-configuration.js';
import { bodiesOf, isBody, loadConfiguration } from '../../scripts/terraform-check/load-configuration.js';
import { functionNames, type FunctionName } from '../../functions/names.js';
import { configVariableNames, isConfigVariableName, loadConfig } from '../../shared/config/config.js';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const temporaryFolders: string[] = [];
afterEach(() => {
  for (const folder of temporaryFolders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** Providers the representative deployment enables: their ids fill the `${…}` of templated variable names. */
const sampleProviders = ['slack', 'google'] as const;

interface FunctionEnvironment {
  /** Plain variables: name → the Terraform expression of its value. */
  readonly plain: ReadonlyMap<string, string>;
  /** Names that only exist for enabled providers (client ids, Secret Manager secrets), expanded for sampleProviders. */
  readonly perProvider: readonly string[];
}

const interpolation = /\$\{[^}]*\}/g;

function expandForProviders(template: string): string[] {
  return sampleProviders.map((provider) => template.replace(interpolation, provider.toUpperCase()));
}

/** The text of the first `{ … }` literal in an expression, braces balanced. */
function firstObjectLiteral(expression: string): string {
  const start = expression.indexOf('{');
  let depth = 0;
  for (let position = start; position < expression.length; position += 1) {
    if (expression[position] === '{') depth += 1;
    if (expression[position] === '}') depth -= 1;
    if (depth === 0) return expression.slice(start, position + 1);
  }
  throw new Error(`No balanced object literal in ${expression}`);
}

function localExpression(configuration: Configuration, name: string): string {
  const local = configuration.blocks.find((block) => block.kind === 'locals' && block.name === name);
  if (local === undefined || typeof local.body.value !== 'string') throw new Error(`local.${name} is not a declared expression`);
  return local.body.value;
}

/** Reads the functions' environment_variables and secret_environment_variables from the parsed Terraform. */
async function functionEnvironment(configuration: Configuration): Promise<FunctionEnvironment> {
  const functions = configuration.blocks.filter((block) => block.type === 'google_cloudfunctions2_function');
  expect(functions).toHaveLength(1);
  const serviceConfig = bodiesOf((functions[0] as (typeof functions)[number]).body.service_config)[0];
  if (serviceConfig === undefined) throw new Error('the function has no service_config');
  const expression = serviceConfig.environment_variables;
  if (typeof expression !== 'string') throw new Error('environment_variables is not an expression');
  // The plain map is the literal inside merge(); re-parsing it as HCL gives its keys and value expressions.
  const literalText = firstObjectLiteral(expression.slice(expression.indexOf('merge(')));
  const literal = await parse('environment.tf', `environment = ${literalText}\n`);
  const plainMap = literal.environment;
  if (!isBody(plainMap)) throw new Error('the environment literal did not parse as a map');
  const plain = new Map(Object.entries(plainMap).map(([name, value]) => [name, String(value).replace(/^\$\{([\s\S]*)\}$/, '$1')]));
  // Maps merged from locals are `{ for name in … : "TEMPLATE" => … }`.
  const perProvider: string[] = [];
  for (const [, local] of expression.replace(literalText, '').matchAll(/local\.([a-z_]+)(?![a-z_[])/g)) {
    const keyTemplate = /:\s*"([^"]+)"\s*=>/.exec(localExpression(configuration, local as string))?.[1];
    if (keyTemplate === undefined) throw new Error(`local.${local} merged into the environment is not a { for … : "NAME" => … } map`);
    perProvider.push(...expandForProviders(keyTemplate));
  }
  // hcl2json renders `dynamic "x" { … }` as { dynamic: { x: [ { for_each, content: [ … ] } ] } }.
  const dynamicBlocks = isBody(serviceConfig.dynamic) ? [serviceConfig.dynamic] : bodiesOf(serviceConfig.dynamic);
  const dynamic = dynamicBlocks.flatMap((body) => bodiesOf(body.secret_environment_variables));
  expect(dynamic).toHaveLength(1);
  for (const content of dynamic.flatMap((block) => bodiesOf(block.content))) {
    if (typeof content.key !== 'string') throw new Error('a secret_environment_variables block has no key');
    perProvider.push(...expandForProviders(content.key));
  }
  return { plain, perProvider };
}

/** Stand-ins for what Terraform only knows at apply time; a reference missing here fails the test. */
const applyTimeValues: Readonly<Record<string, string>> = {
  'var.project_id': 'my-broker-project',
  'google_firestore_database.broker.name': '(default)',
  'google_kms_crypto_key.token_sealing.id': 'projects/my-broker-project/locations/europe-west1/keyRings/oauth-broker-keys/cryptoKeys/token-sealing',
  'var.log_level': 'INFO',
  'google_pubsub_topic.connection_events.id': 'projects/my-broker-project/topics/connection-events',
  'local.function_urls[each.key]': 'https://europe-west1-my-broker-project.cloudfunctions.net/oauth-broker-token',
  'local.redirect_uri': 'https://europe-west1-my-broker-project.cloudfunctions.net/oauth-broker-callback',
  'join(",", var.return_url_allowlist)': 'https://app.example.com/connected,https://app.example.com/settings',
  'jsonencode(var.caller_policy)': JSON.stringify([
    { serviceAccount: 'mail-sync@my-product-project.iam.gserviceaccount.com', tenants: '*', providers: ['google'], actions: ['read_token'] },
  ]),
  'jsonencode(var.oidc_providers)': JSON.stringify([{ id: 'okta_acme', displayName: 'Acme Okta', issuer: 'https://acme.okta.com' }]),
  'join(",", var.admin_allowlist)': 'ops@example.com',
  'google_service_account.scheduler.email': 'oauth-broker-scheduler@my-broker-project.iam.gserviceaccount.com',
};

/** Per-function variables (local.function_environment): function → name → value expression or literal. */
function functionSpecificEnvironment(configuration: Configuration): Record<string, Record<string, string>> {
  const local = configuration.blocks.find((block) => block.kind === 'locals' && block.name === 'function_environment');
  if (local === undefined || !isBody(local.body.value)) throw new Error('local.function_environment is not a map literal');
  const out: Record<string, Record<string, string>> = {};
  for (const [name, variables] of Object.entries(local.body.value)) {
    if (!isBody(variables)) throw new Error(`local.function_environment.${name} is not a map literal`);
    out[name] = Object.fromEntries(Object.entries(variables).map(([variable, value]) => [variable, String(value)]));
  }
  return out;
}

/** Whether each function reads provider client secrets (local.functions[name].provider_secrets). */
function providerSecretFunctions(configuration: Configuration): Set<string> {
  const local = configuration.blocks.find((block) => block.kind === 'locals' && block.name === 'functions');
  if (local === undefined || !isBody(local.body.value)) throw new Error('local.functions is not a map literal');
  return new Set(Object.entries(local.body.value).filter(([, fn]) => isBody(fn) && fn.provider_secrets === true).map(([name]) => name));
}

/** Per-function expressions and their stand-ins; a literal (no `${`) is its own value. */
const functionSpecificValues: Readonly<Record<string, string>> = {
  'var.iap_audience': '/projects/123456789012/global/backendServices/4567890123456789',
  'local.scheduler_job_names["refresh"]': 'projects/my-broker-project/locations/europe-west1/jobs/oauth-broker-refresh',
  'var.region': 'europe-west1',
};

function functionSpecificValue(name: string, raw: string): string {
  const expression = /^\$\{([\s\S]*)\}$/.exec(raw)?.[1];
  if (expression === undefined) return raw;
  const value = functionSpecificValues[expression];
  if (value === undefined) throw new Error(`${name} = ${expression}: add a representative value for it to functionSpecificValues`);
  return value;
}

/** What each function needs set by the deployment to do its job (beyond what loadConfig defaults). */
const neededBy: Readonly<Record<FunctionName, readonly string[]>> = {
  authorize: ['ID_TOKEN_AUDIENCES', 'CALLER_POLICY', 'BROKER_CALLBACK_URL', 'RETURN_URL_ALLOWLIST', 'KMS_KEY_NAME'],
  callback: ['BROKER_CALLBACK_URL', 'RETURN_URL_ALLOWLIST', 'KMS_KEY_NAME', 'EVENTS_TOPIC'],
  connections: ['ID_TOKEN_AUDIENCES', 'CALLER_POLICY', 'KMS_KEY_NAME', 'EVENTS_TOPIC'],
  token: ['ID_TOKEN_AUDIENCES', 'CALLER_POLICY', 'KMS_KEY_NAME', 'EVENTS_TOPIC'],
  admin: ['ID_TOKEN_AUDIENCES', 'ADMIN_ALLOWLIST', 'IAP_AUDIENCE', 'SCHEDULER_REFRESH_JOB', 'KMS_KEY_NAME', 'EVENTS_TOPIC'],
  refresh: ['ID_TOKEN_AUDIENCES', 'SCHEDULER_SERVICE_ACCOUNT', 'CLOUD_RUN_IAM_VERIFIED_CALLERS', 'CLOUD_RUN_REGION', 'KMS_KEY_NAME', 'EVENTS_TOPIC'],
  health: ['ID_TOKEN_AUDIENCES', 'SCHEDULER_SERVICE_ACCOUNT', 'CLOUD_RUN_IAM_VERIFIED_CALLERS', 'CLOUD_RUN_REGION', 'KMS_KEY_NAME', 'EVENTS_TOPIC'],
};

/** One function's environment as deployed, with what Cloud Run itself sets (K_SERVICE, FUNCTION_TARGET). */
function deployedEnvironment(
  name: string,
  shared: FunctionEnvironment,
  specific: Record<string, Record<string, string>>,
  withSecrets: Set<string>,
): Record<string, string> {
  const env = representativeEnvironment({ plain: shared.plain, perProvider: withSecrets.has(name) ? shared.perProvider : [] });
  for (const [variable, raw] of Object.entries(specific[name] ?? {})) env[variable] = functionSpecificValue(variable, raw);
  return { ...env, K_SERVICE: `oauth-broker-${name}`, FUNCTION_TARGET: name };
}

function representativeEnvironment(environment: FunctionEnvironment): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, expression] of environment.plain) {
    const value = applyTimeValues[expression];
    if (value === undefined) throw new Error(`${name} = ${expression}: add a representative value for it to applyTimeValues`);
    env[name] = value;
  }
  for (const name of environment.perProvider) env[name] = name.endsWith('_CLIENT_ID') ? `client-id-for-${name}` : `secret-for-${name}`;
  return env;
}

describe('the functions environment in terraform/', () => {
  it('sets only variables loadConfig reads, including the ones each deployment must set', async () => {
    const { configuration } = await loadConfiguration(join(repositoryRoot, 'terraform'));
    const environment = await functionEnvironment(configuration);
    const names = [...environment.plain.keys(), ...environment.perProvider];
    expect(names.filter((name) => !isConfigVariableName(name))).toEqual([]);
    const required = ['KMS_KEY_NAME', 'EVENTS_TOPIC', 'ID_TOKEN_AUDIENCES', 'BROKER_CALLBACK_URL', 'RETURN_URL_ALLOWLIST', 'CALLER_POLICY'];
    // Added by the admin and sweep work; required here as soon as config.ts reads them.
    required.push(...['SCHEDULER_SERVICE_ACCOUNT', 'ADMIN_ALLOWLIST'].filter((name) => configVariableNames.includes(name)));
    expect(names).toEqual(expect.arrayContaining(required));
    expect(environment.perProvider).toEqual([
      'PROVIDER_SLACK_CLIENT_ID',
      'PROVIDER_GOOGLE_CLIENT_ID',
      'PROVIDER_SLACK_CLIENT_SECRET',
      'PROVIDER_GOOGLE_CLIENT_SECRET',
    ]);
    // Callers' ID tokens name the function's own URL as audience, the one the scheduler and clients use.
    expect(environment.plain.get('ID_TOKEN_AUDIENCES')).toBe('local.function_urls[each.key]');
  });

  it('loads with loadConfig from a representative environment built from the Terraform values', async () => {
    const { configuration } = await loadConfiguration(join(repositoryRoot, 'terraform'));
    const env = representativeEnvironment(await functionEnvironment(configuration));
    const config = loadConfig(env);
    expect(config.callerIdentity.audiences).toEqual(['https://europe-west1-my-broker-project.cloudfunctions.net/oauth-broker-token']);
    expect(config.connect.callbackUrl).toBe('https://europe-west1-my-broker-project.cloudfunctions.net/oauth-broker-callback');
    expect(config.connect.returnUrlAllowlist).toEqual(['https://app.example.com/connected', 'https://app.example.com/settings']);
    expect(config.callerPolicy).toHaveLength(1);
    expect(config.providers.oidcProviders.map((provider) => provider.id)).toEqual(['okta_acme']);
    expect(config.events.topic).toBe('projects/my-broker-project/topics/connection-events');
    expect(config.kms.keyName).toMatch(/cryptoKeys\/token-sealing$/);
    expect(config.providers.clients).toEqual({
      slack: { clientId: 'client-id-for-PROVIDER_SLACK_CLIENT_ID', clientSecret: 'secret-for-PROVIDER_SLACK_CLIENT_SECRET' },
      google: { clientId: 'client-id-for-PROVIDER_GOOGLE_CLIENT_ID', clientSecret: 'secret-for-PROVIDER_GOOGLE_CLIENT_SECRET' },
    });
  });

  it('gives every function the variables it needs, and only names loadConfig reads', async () => {
    const { configuration } = await loadConfiguration(join(repositoryRoot, 'terraform'));
    const shared = await functionEnvironment(configuration);
    const specific = functionSpecificEnvironment(configuration);
    expect(Object.keys(specific).sort()).toEqual([...functionNames].sort());
    const withSecrets = providerSecretFunctions(configuration);
    for (const name of functionNames) {
      const env = deployedEnvironment(name, shared, specific, withSecrets);
      expect({ name, unknown: Object.keys(env).filter((variable) => !isConfigVariableName(variable)) }).toEqual({ name, unknown: [] });
      expect({ name, missing: neededBy[name].filter((variable) => env[variable] === undefined) }).toEqual({ name, missing: [] });
    }
  });

  it('loads every function with loadConfig, the sweeps trusting Cloud Run IAM for the scheduler and no other function', async () => {
    const { configuration } = await loadConfiguration(join(repositoryRoot, 'terraform'));
    const shared = await functionEnvironment(configuration);
    const specific = functionSpecificEnvironment(configuration);
    const withSecrets = providerSecretFunctions(configuration);
    for (const name of functionNames) {
      const config = loadConfig(deployedEnvironment(name, shared, specific, withSecrets));
      expect({ name, trusts: config.sweeps.trustCloudRunIamForScheduler }).toEqual({ name, trusts: name === 'refresh' || name === 'health' });
      if (name === 'admin') {
        expect(config.admin.schedulerRefreshJob).toBe('projects/my-broker-project/locations/europe-west1/jobs/oauth-broker-refresh');
        expect(config.admin.iap.audience).toBe('/projects/123456789012/global/backendServices/4567890123456789');
      }
    }
    // The admin function loads without IAP as well (the variable's default), refusing IAP assertions then.
    const withoutIap = deployedEnvironment('admin', shared, specific, withSecrets);
    expect(loadConfig({ ...withoutIap, IAP_AUDIENCE: '' }).admin.iap.audience).toBeUndefined();
  });

  it('reports a variable loadConfig does not read, such as the old secret naming', async () => {
    const root = mkdtempSync(join(tmpdir(), 'terraform-environment-'));
    temporaryFolders.push(root);
    cpSync(join(repositoryRoot, 'terraform'), root, { recursive: true });
    const path = join(root, 'functions.tf');
    const before = readFileSync(path, 'utf8');
    const after = before
      .replace('"PROVIDER_${upper(secret_environment_variables.value)}_CLIENT_SECRET"', '"OAUTH_CLIENT_SECRET_${upper(secret_environment_variables.value)}"')
      .replace('ID_TOKEN_AUDIENCES        = local.function_urls[each.key]', 'FUNCTION_URL              = local.function_urls[each.key]');
    expect(after).not.toBe(before);
    writeFileSync(path, after);
    const { configuration } = await loadConfiguration(root);
    const environment = await functionEnvironment(configuration);
    const unknown = [...environment.plain.keys(), ...environment.perProvider].filter((name) => !isConfigVariableName(name));
    expect(unknown).toEqual(['FUNCTION_URL', 'OAUTH_CLIENT_SECRET_SLACK', 'OAUTH_CLIENT_SECRET_GOOGLE']);
  });
});
