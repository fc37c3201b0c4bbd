// The offline Terraform checker: the real configuration is clean, and each kind of mistake is reported.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { functionNames } from '../../functions/names.js';
import { checkTerraform, repositoryCheckOptions } from '../../scripts/terraform-check/check-terraform.js';
import type { Finding } from '../../scripts/terraform-check/findings.js';
import { formatFinding } from '../../scripts/terraform-check/findings.js';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const temporaryFolders: string[] = [];

afterEach(() => {
  for (const folder of temporaryFolders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

type Edit = readonly [file: string, from: string | RegExp, to: string];

/** A copy of terraform/ with the given edits (each must change its file) and extra files. */
function configurationWith(edits: readonly Edit[], extraFiles: Readonly<Record<string, string>> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'terraform-check-'));
  temporaryFolders.push(root);
  const directory = join(root, 'terraform');
  cpSync(join(repositoryRoot, 'terraform'), directory, { recursive: true });
  cpSync(join(repositoryRoot, 'firestore.indexes.json'), join(root, 'firestore.indexes.json'));
  // local.functions reads the function manifest beside terraform/, as in the repository.
  cpSync(join(repositoryRoot, 'functions', 'manifest.json'), join(root, 'functions', 'manifest.json'));
  for (const [file, from, to] of edits) {
    const path = join(directory, file);
    const before = readFileSync(path, 'utf8');
    const after = before.replace(from, to);
    if (after === before) throw new Error(`edit of ${file} did not apply: ${String(from)}`);
    writeFileSync(path, after);
  }
  for (const [file, text] of Object.entries(extraFiles)) writeFileSync(join(directory, file), text);
  return root;
}

async function findingsFor(root: string, names: readonly string[] = functionNames): Promise<Finding[]> {
  return checkTerraform({
    directory: join(root, 'terraform'),
    displayRoot: root,
    functionNames: names,
    firestoreDefinition: join(root, 'firestore.indexes.json'),
  });
}

function only(findings: readonly Finding[], rule: Finding['rule']): string[] {
  return findings.filter((finding) => finding.rule === rule).map(formatFinding);
}

describe('the repository configuration', () => {
  it('passes every check', async () => {
    const findings = await checkTerraform(repositoryCheckOptions(repositoryRoot));
    expect(findings.map(formatFinding)).toEqual([]);
  });

  it('stays clean when copied, so the cases below start from a clean baseline', async () => {
    expect((await findingsFor(configurationWith([]))).map(formatFinding)).toEqual([]);
  });
});

describe('reported mistakes', () => {
  it('reports a misspelled argument with its file, line and the likely intended name', async () => {
    const root = configurationWith([['kms.tf', 'purpose         = "ENCRYPT_DECRYPT"', 'purpse          = "ENCRYPT_DECRYPT"']]);
    const line = readFileSync(join(root, 'terraform/kms.tf'), 'utf8').split('\n').findIndex((text) => text.includes('purpse')) + 1;
    expect(only(await findingsFor(root), 'schema')).toEqual([
      `terraform/kms.tf:${line}: [schema] google_kms_crypto_key.token_sealing has no argument or block "purpse" (did you mean purpose?)`,
    ]);
  });

  it('reports a misspelled argument inside a nested block', async () => {
    const root = configurationWith([['scheduler.tf', 'max_doublings        = 3', 'max_doubling         = 3']]);
    expect(only(await findingsFor(root), 'schema')).toEqual([
      expect.stringMatching(
        /^terraform\/scheduler\.tf:\d+: \[schema\] google_cloud_scheduler_job\.sweep\.retry_config has no argument or block "max_doubling" \(did you mean max_doublings\?\)$/,
      ),
    ]);
  });

  it('reports an unknown resource type', async () => {
    const root = configurationWith([], {
      'extra.tf': 'resource "google_cloudfunction2_function" "stray" {\n  name     = "stray"\n  location = var.region\n}\n',
    });
    expect(only(await findingsFor(root), 'schema')).toEqual([
      'terraform/extra.tf:1: [schema] google_cloudfunction2_function.stray: google_cloudfunction2_function is not a resource type of hashicorp/google 6.50.0 (did you mean google_cloudfunctions2_function?) — if it is real, add its prefix to keptTypePrefixes in make-schema-snapshot.ts and regenerate the snapshot',
    ]);
  });

  it('reports a missing required argument', async () => {
    const root = configurationWith([['events.tf', /\n  name    = "connection-events"\n/, '\n']]);
    expect(only(await findingsFor(root), 'schema')).toEqual([
      expect.stringContaining('[schema] google_pubsub_topic.connection_events is missing required argument "name"'),
    ]);
  });

  it('reports dangling references: a resource, a variable, a local and an attribute', async () => {
    const root = configurationWith([
      ['locals.tf', 'KMS_KEY_NAME              = google_kms_crypto_key.token_sealing.id', 'KMS_KEY_NAME              = google_kms_crypto_key.token_seal.id'],
      ['locals.tf', 'LOG_LEVEL                 = var.log_level', 'LOG_LEVEL                 = var.log_levle'],
      ['locals.tf', 'BROKER_CALLBACK_URL       = local.redirect_uri', 'BROKER_CALLBACK_URL       = local.redirect_url'],
      ['outputs.tf', 'fn.service_config[0].uri', 'fn.service_config[0].url'],
      ['events.tf', 'topic   = google_pubsub_topic.connection_events.name', 'topic   = google_pubsub_topic.connection_events.nam'],
    ]);
    const messages = only(await findingsFor(root), 'reference').map((text) => text.replace(/:\d+: /, ': '));
    expect(messages).toEqual([
      'terraform/events.tf: [reference] resource google_pubsub_topic_iam_member.publisher: google_pubsub_topic.connection_events has no attribute "nam" (did you mean name?)',
      'terraform/locals.tf: [reference] local.environment_values: google_kms_crypto_key.token_seal is not declared (did you mean google_kms_crypto_key.token_sealing?)',
      'terraform/locals.tf: [reference] local.environment_values: var.log_levle is not declared (did you mean log_level?)',
      'terraform/locals.tf: [reference] local.environment_values: local.redirect_url is not declared (did you mean redirect_uri?)',
      'terraform/outputs.tf: [reference] output function_service_urls: google_cloudfunctions2_function.broker has no attribute "url" (did you mean uri?)',
    ]);
  });

  it('treats `for` variables and dynamic block iterators as in scope, and each only under for_each', async () => {
    const root = configurationWith([['kms.tf', 'name     = "${var.name_prefix}-keys"', 'name     = "${var.name_prefix}-${each.key}"']]);
    expect(only(await findingsFor(root), 'reference')).toEqual([
      expect.stringContaining('resource google_kms_key_ring.broker: each.key is used where no for_each is in scope'),
    ]);
  });

  it('reports a token function that anyone may invoke, through the function manifest or the invoker map', async () => {
    const throughManifest = configurationWith([['../functions/manifest.json', '"invokers": "token_callers"', '"invokers": "public"']]);
    expect(only(await findingsFor(throughManifest), 'security')).toEqual([
      expect.stringMatching(/^terraform\/locals\.tf:\d+: \[security\] the function manifest makes the token function public; only callback may be public/),
    ]);
    const throughMap = configurationWith([['locals.tf', /token_callers( +)= local\.caller_members/, 'token_callers$1= concat(local.caller_members, ["allUsers"])']]);
    expect(only(await findingsFor(throughMap), 'security')).toEqual([
      expect.stringMatching(/^terraform\/locals\.tf:\d+: \[security\] local\.invoker_members grants allUsers, but only the callback function may be public/),
    ]);
  });

  it('reports a public binding made directly on the token function', async () => {
    const root = configurationWith([], {
      'public.tf': [
        'resource "google_cloud_run_v2_service_iam_member" "open_token" {',
        '  location = var.region',
        '  name     = google_cloudfunctions2_function.broker["token"].name',
        '  role     = "roles/run.invoker"',
        '  member   = "allAuthenticatedUsers"',
        '}',
        '',
      ].join('\n'),
    });
    expect(only(await findingsFor(root), 'security')).toEqual([
      'terraform/public.tf:5: [security] google_cloud_run_v2_service_iam_member.open_token lets allAuthenticatedUsers invoke the token function; only callback may be public (callers must use IAM)',
    ]);
  });

  it('reports a scheduler job without an OIDC token', async () => {
    const root = configurationWith([['scheduler.tf', /\n\n    oidc_token \{[^}]*\}\n/, '\n']]);
    expect(only(await findingsFor(root), 'security')).toEqual([
      expect.stringMatching(/^terraform\/scheduler\.tf:\d+: \[security\] google_cloud_scheduler_job\.sweep has no http_target\.oidc_token/),
    ]);
  });

  it('reports trust in Cloud Run IAM for stripped tokens outside the sweeps: given to token by the manifest, or to every function', async () => {
    const root = configurationWith([
      // The end of the token function's environment list (the entry just before admin's), whatever it holds.
      ['../functions/manifest.json', '"]\n    },\n    "admin"', '", "CLOUD_RUN_IAM_VERIFIED_CALLERS"]\n    },\n    "admin"'],
      ['functions.tf', 'environment_variables = local.function_environment[each.key]', 'environment_variables = merge(local.function_environment[each.key], { CLOUD_RUN_IAM_VERIFIED_CALLERS = "scheduler" })'],
    ]);
    const security = only(await findingsFor(root), 'security');
    expect(security).toEqual([
      expect.stringMatching(
        /^terraform\/functions\.tf:\d+: \[security\] google_cloudfunctions2_function\.broker sets CLOUD_RUN_IAM_VERIFIED_CALLERS where it cannot be shown to reach only refresh and health$/,
      ),
      expect.stringMatching(
        /^terraform\/locals\.tf:\d+: \[security\] the function manifest gives CLOUD_RUN_IAM_VERIFIED_CALLERS to the token function; only refresh and health may/,
      ),
    ]);
  });

  it('reports a key without a rotation period, and one that an apply could destroy', async () => {
    const root = configurationWith([
      ['kms.tf', /\n  rotation_period = .*\n/, '\n'],
      ['kms.tf', 'prevent_destroy = true', 'prevent_destroy = false'],
    ]);
    const security = only(await findingsFor(root), 'security');
    expect(security).toEqual([
      expect.stringContaining('google_kms_crypto_key.token_sealing has no rotation_period'),
      expect.stringContaining('google_kms_crypto_key.token_sealing lacks lifecycle { prevent_destroy = true }'),
    ]);
    expect(security.every((text) => text.startsWith('terraform/kms.tf:'))).toBe(true);
  });

  it('reports a function on another runtime', async () => {
    const root = configurationWith([['functions.tf', 'runtime         = "nodejs22"', 'runtime         = "nodejs20"']]);
    expect(only(await findingsFor(root), 'security')).toEqual([
      expect.stringContaining('google_cloudfunctions2_function.broker must use runtime "nodejs22", found "nodejs20"'),
    ]);
  });

  it('reports functions that Terraform deploys but the package does not export, and the reverse', async () => {
    const findings = await findingsFor(configurationWith([]), ['authorize', 'callback', 'connections', 'token', 'proxy', 'admin', 'refresh', 'revoke']);
    expect(only(findings, 'functions')).toEqual([
      expect.stringContaining('Terraform has health, which functions/names.ts does not list'),
      expect.stringContaining('Terraform lacks revoke'),
    ]);
  });

  it('compares the function files with the list once they exist, ignoring the loader', async () => {
    const root = configurationWith([]);
    const functions = join(root, 'functions');
    cpSync(join(repositoryRoot, 'functions/names.ts'), join(functions, 'names.ts'));
    for (const name of ['index', 'authorize', 'callback', 'connections', 'token', 'proxy', 'admin', 'refresh', 'sweep']) {
      writeFileSync(join(functions, `${name}.ts`), '');
    }
    const findings = await checkTerraform({ directory: join(root, 'terraform'), displayRoot: root, functionsDirectory: functions });
    expect(only(findings, 'functions')).toEqual([
      'functions:1: [functions] functions/ has sweep, which functions/names.ts does not list',
      'functions:1: [functions] functions/ lacks health',
    ]);
  });

  it('reports a file that does not parse, and one that is not formatted', async () => {
    const root = configurationWith([['events.tf', 'resource "google_pubsub_topic_iam_member" "publisher" {', 'resource "google_pubsub_topic_iam_member" "publisher" {{']], {
      'messy.tf': 'locals {\n  spacing   = 1\n}\n',
    });
    const findings = await findingsFor(root);
    expect(only(findings, 'parse')).toEqual([expect.stringMatching(/^terraform\/events\.tf:\d+: \[parse\] does not parse as HCL/)]);
    expect(only(findings, 'format')).toEqual([expect.stringMatching(/^terraform\/messy\.tf:2: \[format\] is not formatted/)]);
  });

  it('reports a firestore.indexes.json that Terraform could not read', async () => {
    const root = configurationWith([]);
    writeFileSync(join(root, 'firestore.indexes.json'), JSON.stringify({ indexes: [{ collectionGroup: 'connections', fields: [] }], fieldOverrides: [] }));
    expect(only(await findingsFor(root), 'schema')).toEqual([expect.stringMatching(/^firestore\.indexes\.json:1: \[schema\] indexes\.0\.fields: /)]);
  });
});
