// name_prefix is validated so that every name derived from it is one Google accepts: Terraform itself evaluates
// each derived name at the longest prefix the validation allows, and refuses one character more.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionNames } from '../../functions/names.js';
import { findExecutable } from '../../local/executable-lookup.js';
import type { Body, TerraformBlock } from '../../scripts/terraform-check/load-configuration.js';
import { isBody, loadConfiguration } from '../../scripts/terraform-check/load-configuration.js';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const terraform = await findExecutable('terraform', process.env.PATH);

const LONGEST_PREFIX = 'abcdefghijklmnop-q'; // 18 characters: the most the validation allows
const LONGEST_PROJECT_ID = `p${'0123456789'.repeat(2)}abcdefgh9`; // 30 characters: the most a project id has
// The longest provider id providers_enabled accepts (its validation: ^[a-z][a-z0-9_]{1,39}$); secret ids carry it.
const LONGEST_PROVIDER = `p${'_'.repeat(38)}z`;

/** Google's rule for each kind of name the configuration derives from name_prefix, with where it is stated. */
const namingRules: Readonly<Record<string, { readonly pattern: RegExp; readonly rule: string }>> = {
  'google_service_account.account_id': { pattern: /^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$/, rule: 'service account id, 6-30 characters' },
  'google_cloudfunctions2_function.name': { pattern: /^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$/, rule: 'Cloud Run service name, at most 49 characters' },
  'google_cloud_scheduler_job.name': { pattern: /^[A-Za-z0-9_-]{1,500}$/, rule: 'Cloud Scheduler job id' },
  'google_secret_manager_secret.secret_id': { pattern: /^[A-Za-z0-9_-]{1,255}$/, rule: 'Secret Manager secret id, at most 255 characters' },
  'google_storage_bucket.name': { pattern: /^(?!goog)(?!.*google)[a-z0-9][-a-z0-9_]{1,61}[a-z0-9]$/, rule: 'bucket name, 3-63 characters, no "google"' },
  'google_kms_key_ring.name': { pattern: /^[A-Za-z0-9_-]{1,63}$/, rule: 'KMS key ring id, at most 63 characters' },
  'google_logging_metric.name': { pattern: /^[A-Za-z0-9_\-.,+!*'()%/]{1,100}$/, rule: 'log-based metric name, at most 100 characters' },
  'google_project_iam_custom_role.role_id': { pattern: /^[A-Za-z0-9_.]{3,64}$/, rule: 'custom role id, 3-64 characters' },
  'provider.google.default_labels': { pattern: /^[a-z0-9_-]{0,63}$/, rule: 'label value, at most 63 characters' },
  // The optional edge (edge.tf): Compute Engine resources, named by RFC 1035 like every Compute Engine resource.
  ...Object.fromEntries(
    [
      'google_compute_region_network_endpoint_group',
      'google_compute_security_policy',
      'google_compute_backend_service',
      'google_compute_url_map',
      'google_compute_managed_ssl_certificate',
      'google_compute_target_https_proxy',
      'google_compute_global_address',
      'google_compute_global_forwarding_rule',
    ].map((type) => [`${type}.name`, { pattern: /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/, rule: 'Compute Engine resource name (RFC 1035), at most 63 characters' }]),
  ),
};

/** Arguments holding prose, not names: they may mention the prefix freely. */
const proseArguments = new Set(['description', 'display_name', 'filter', 'title']);

interface DerivedName {
  /** Unique: block address and argument path. */
  readonly key: string;
  readonly rule: string;
  /** The Terraform template, with `each.key` renamed `key` for the `for` expression below. */
  readonly template: string;
  /** The keys `each.key` takes, or undefined when the block has no for_each. */
  readonly keys: readonly string[] | undefined;
}

function localMapKeys(blocks: readonly TerraformBlock[], name: string): string[] {
  const local = blocks.find((block) => block.kind === 'locals' && block.name === name);
  if (local === undefined || !isBody(local.body.value)) throw new Error(`local.${name} is not a map literal`);
  return Object.keys(local.body.value);
}

/** The keys of every for_each a derived name sits under; a new one must be added here, or the test fails. */
function forEachKeys(blocks: readonly TerraformBlock[], expression: unknown): readonly string[] {
  switch (expression) {
    case '${local.functions}':
      return functionNames;
    case '${local.scheduled}':
      return localMapKeys(blocks, 'scheduled');
    case '${var.providers_enabled}':
      return [LONGEST_PROVIDER];
    default:
      throw new Error(`a name derived from name_prefix is made under for_each = ${String(expression)}: say which keys it takes`);
  }
}

function derivedNames(blocks: readonly TerraformBlock[]): DerivedName[] {
  const names: DerivedName[] = [];
  const visit = (block: TerraformBlock, label: string, body: Body, path: readonly string[]): void => {
    for (const [argument, value] of Object.entries(body)) {
      if (proseArguments.has(argument)) continue;
      // Nested blocks (arrays: lifecycle, retry_config, ...) hold no names; argument maps (labels) may.
      if (isBody(value)) visit(block, label, value, [...path, argument]);
      if (typeof value !== 'string' || !value.includes('var.name_prefix')) continue;
      const rule = path.length === 0 ? `${label}.${argument}` : `${label}.${path[0]}`;
      if (value.includes('each.value')) throw new Error(`${rule} is made from each.value: extend this test`);
      names.push({
        key: [block.kind === 'provider' ? `provider.${block.name}` : `${block.type}.${block.name}`, ...path, argument].join('.'),
        rule,
        template: value.replaceAll('each.key', 'key'),
        keys: value.includes('each.key') ? forEachKeys(blocks, block.body.for_each) : undefined,
      });
    }
  };
  for (const block of blocks) {
    if (block.kind === 'resource' || block.kind === 'data') visit(block, block.type ?? '', block.body, []);
    if (block.kind === 'provider') visit(block, `provider.${block.name}`, block.body, []);
  }
  return names;
}

/** A module of variables.tf alone, plus `local.derived_names` rebuilding each derived name from its own template. */
function scratchModule(names: readonly DerivedName[]): string {
  const directory = mkdtempSync(join(tmpdir(), 'name-prefix-'));
  copyFileSync(join(repositoryRoot, 'terraform/variables.tf'), join(directory, 'variables.tf'));
  const entries = names.map(({ key, template, keys }) =>
    keys === undefined ? `    "${key}" = ["${template}"]` : `    "${key}" = [for key in ${JSON.stringify(keys)} : "${template}"]`,
  );
  writeFileSync(join(directory, 'derived_names.tf'), `locals {\n  derived_names = {\n${entries.join('\n')}\n  }\n}\n`);
  writeFileSync(join(directory, 'terraformrc'), '');
  return directory;
}

interface ConsoleResult {
  readonly value: string;
  readonly errors: string;
}

/** `terraform console` in `directory`: no providers, so no init and no network. */
function evaluate(directory: string, expression: string, variables: Readonly<Record<string, string>>): ConsoleResult {
  const result = spawnSync(terraform as string, ['console', ...Object.entries(variables).map(([name, value]) => `-var=${name}=${value}`)], {
    cwd: directory,
    input: `${expression}\n`,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env.PATH,
      HOME: directory,
      TF_CLI_CONFIG_FILE: join(directory, 'terraformrc'),
      TF_DATA_DIR: join(directory, '.terraform'),
      TF_IN_AUTOMATION: '1',
      CHECKPOINT_DISABLE: '1',
    },
  });
  if (result.error !== undefined) throw result.error;
  const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');
  return { value: plain(result.stdout).trim(), errors: plain(result.stderr).replace(/[│╷╵]/g, '').replace(/\s+/g, ' ') };
}

describe.skipIf(terraform === undefined)('name_prefix, evaluated by terraform console', () => {
  let names: DerivedName[];
  let directory: string;

  beforeAll(async () => {
    const { configuration, findings } = await loadConfiguration(join(repositoryRoot, 'terraform'));
    expect(findings).toEqual([]);
    names = derivedNames(configuration.blocks);
    directory = scratchModule(names);
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('finds the derived names, each with a naming rule of Google’s', () => {
    expect(names.map((name) => name.key)).toEqual(
      expect.arrayContaining(['google_service_account.runtime.account_id', 'google_service_account.operator.account_id', 'google_storage_bucket.source.name']),
    );
    expect(names.filter((name) => namingRules[name.rule] === undefined).map((name) => name.rule)).toEqual([]);
  });

  it('at the longest prefix allowed, every derived name is valid, and the longest service account id is exactly 30 characters', () => {
    expect(LONGEST_PREFIX).toHaveLength(18);
    const result = evaluate(directory, 'jsonencode(local.derived_names)', { project_id: LONGEST_PROJECT_ID, name_prefix: LONGEST_PREFIX });
    expect(result.errors).not.toContain('Error');
    const evaluated = JSON.parse(JSON.parse(result.value) as string) as Record<string, string[]>;
    expect(Object.keys(evaluated).sort()).toEqual(names.map((name) => name.key).sort());
    const invalid = names.flatMap(({ key, rule }) =>
      (evaluated[key] ?? []).filter((value) => !namingRules[rule]?.pattern.test(value)).map((value) => `${key}: "${value}" is not a ${namingRules[rule]?.rule}`),
    );
    expect(invalid).toEqual([]);
    expect(evaluated['google_service_account.runtime.account_id']).toContain(`${LONGEST_PREFIX}-connections`);
    // The limit is tight: one more character and "<prefix>-connections" would be 31.
    const accountIds = names.filter((name) => name.rule === 'google_service_account.account_id').flatMap((name) => evaluated[name.key] ?? []);
    expect(Math.max(...accountIds.map((id) => id.length))).toBe(30);
  });

  it('refuses one character more, saying the limit', () => {
    const result = evaluate(directory, 'var.name_prefix', { project_id: LONGEST_PROJECT_ID, name_prefix: `${LONGEST_PREFIX}r` });
    expect(result.errors).toContain('Invalid value for variable');
    expect(result.errors).toContain('at most 18');
  });

  it('refuses a prefix the source bucket could not carry', () => {
    const result = evaluate(directory, 'var.name_prefix', { project_id: LONGEST_PROJECT_ID, name_prefix: 'my-google-broker' });
    expect(result.errors).toContain('must not contain "google"');
  });

  it('accepts the default and the shortest prefix', () => {
    for (const prefix of ['oauth-broker', 'ob1']) {
      const result = evaluate(directory, 'var.name_prefix', { project_id: LONGEST_PROJECT_ID, name_prefix: prefix });
      expect(result.errors).not.toContain('Error');
      expect(result.value).toBe(`"${prefix}"`);
    }
  });
});
