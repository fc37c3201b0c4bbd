// Extracts the trimmed provider schema snapshot from the prebuilt CDKTF provider packages' .jsii and lib/.
//
// The packages are far too large to be dependencies (@cdktf/provider-google unpacks to ~400 MB), so they
// are fetched once into a scratch folder, never installed into the project:
//   mkdir -p /tmp/tfschema && cd /tmp/tfschema
//   npm pack @cdktf/provider-google@16.12.1 @cdktf/provider-archive@11.0.1
//   mkdir google archive
//   tar -xzf cdktf-provider-google-16.12.1.tgz -C google package/.jsii package/package.json package/lib
//   tar -xzf cdktf-provider-archive-11.0.1.tgz -C archive package/.jsii package/package.json package/lib
//   cd - && npx tsx scripts/terraform-check/make-schema-snapshot.ts google=/tmp/tfschema/google/package \
//     archive=/tmp/tfschema/archive/package
// Argument names come from the Terraform Registry anchors in each property's docs (the exact snake_case
// names); computed attribute names come from the `get…Attribute('name')` calls in the compiled classes.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlockSchema, NestedBlockSchema, SchemaSnapshot } from './provider-schema.js';
import { defaultSnapshotPath, schemaSnapshotSchema } from './provider-schema.js';

/** Types kept in the snapshot: everything whose name starts with one of these, in every provider. */
export const keptTypePrefixes = [
  'archive_',
  'google_client_',
  'google_project',
  'google_service_account',
  'google_cloudfunctions2_',
  'google_cloud_run_v2_',
  'google_cloud_run_service_iam_',
  'google_storage_bucket',
  'google_kms_',
  'google_secret_manager_secret',
  'google_firestore_',
  'google_firebaserules_',
  'google_pubsub_',
  'google_cloud_scheduler_job',
  'google_logging_metric',
  'google_logging_project_',
  'google_monitoring_',
  'google_iap_',
  'google_artifact_registry_repository',
  'google_org_policy_policy',
  // The optional edge in front of the public connect pages (edge.tf): serverless NEG, load balancer, Cloud Armor.
  'google_compute_region_network_endpoint_group',
  'google_compute_backend_service',
  'google_compute_security_policy',
  'google_compute_url_map',
  'google_compute_managed_ssl_certificate',
  'google_compute_target_https_proxy',
  'google_compute_global_address',
  'google_compute_global_forwarding_rule',
] as const;

interface JsiiTypeReference {
  readonly primitive?: string;
  readonly fqn?: string;
  readonly collection?: { readonly kind: string; readonly elementtype: JsiiTypeReference };
  readonly union?: { readonly types: readonly JsiiTypeReference[] };
}

interface JsiiProperty {
  readonly name: string;
  readonly optional?: boolean;
  readonly static?: boolean;
  readonly docs?: { readonly summary?: string; readonly remarks?: string };
  readonly type: JsiiTypeReference;
}

interface JsiiType {
  readonly fqn: string;
  readonly kind: string;
  readonly base?: string;
  readonly datatype?: boolean;
  readonly name: string;
  readonly docs?: { readonly summary?: string };
  readonly initializer?: { readonly parameters?: readonly { readonly name: string; readonly type: JsiiTypeReference }[] };
  readonly locationInModule?: { readonly filename: string };
  readonly properties?: readonly JsiiProperty[];
}

interface PackageSource {
  readonly name: string;
  readonly version: string;
  readonly types: Readonly<Record<string, JsiiType>>;
  readonly libDir: string;
}

function snakeCase(camel: string): string {
  return camel.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The Terraform name of a property: the Registry anchor in its docs, which keeps names like `output_base64sha256`. */
function terraformName(property: JsiiProperty): string {
  const anchor = /#([a-z0-9_]+) /.exec(property.docs?.remarks ?? '');
  return anchor?.[1] ?? snakeCase(property.name);
}

/** The struct a property holds when it is a nested block, and whether it may repeat. */
function nestedStruct(type: JsiiTypeReference, package_: PackageSource): { fqn: string; many: boolean } | undefined {
  const isStruct = (fqn: string | undefined): fqn is string =>
    fqn !== undefined && package_.types[fqn]?.kind === 'interface' && package_.types[fqn]?.datatype === true;
  if (isStruct(type.fqn)) return { fqn: type.fqn, many: false };
  for (const member of type.union?.types ?? []) {
    const element = member.collection?.elementtype;
    if (member.collection?.kind === 'array' && isStruct(element?.fqn)) return { fqn: element.fqn, many: true };
  }
  return undefined;
}

const classSources = new Map<string, string>();

/** The names a compiled class reads with `get…Attribute('name')`: its computed and readable attributes. */
function attributeReads(package_: PackageSource, type: JsiiType | undefined): string[] {
  if (type === undefined || type.locationInModule === undefined) return [];
  const file = join(package_.libDir, type.locationInModule.filename.replace(/^src\//, '').replace(/\.ts$/, '.js'));
  if (!existsSync(file)) return [];
  let source = classSources.get(file);
  if (source === undefined) {
    source = readFileSync(file, 'utf8');
    classSources.set(file, source);
  }
  const start = source.indexOf(`\nclass ${type.name} extends `);
  if (start < 0) return [];
  const next = source.indexOf('\nclass ', start + 1);
  const body = source.slice(start, next < 0 ? undefined : next);
  // Scalars are read with get…Attribute('name'); maps and computed nested objects are wrapped with new X(this, 'name').
  const reads = /get[A-Za-z]*Attribute\(['"]([a-z0-9_]+)['"]\)|new [A-Za-z.]+\(this, ['"]([a-z0-9_]+)['"]/g;
  return [...body.matchAll(reads)].map((match) => (match[1] ?? match[2]) as string);
}

function blockOf(structFqn: string, readableFrom: JsiiType | undefined, package_: PackageSource): BlockSchema {
  const struct = package_.types[structFqn];
  if (struct === undefined) throw new Error(`${package_.name}: struct ${structFqn} is missing from .jsii`);
  const args: Record<string, { required: boolean }> = {};
  const blocks: Record<string, NestedBlockSchema> = {};
  for (const property of struct.properties ?? []) {
    const name = terraformName(property);
    const nested = nestedStruct(property.type, package_);
    if (nested === undefined) {
      args[name] = { required: property.optional !== true };
      continue;
    }
    const outputReference = package_.types[`${nested.fqn}OutputReference`];
    blocks[name] = {
      required: property.optional !== true,
      many: nested.many,
      block: blockOf(nested.fqn, outputReference, package_),
    };
  }
  const readable = new Set([...Object.keys(args), ...Object.keys(blocks), ...attributeReads(package_, readableFrom)]);
  return { arguments: sortKeys(args), blocks: sortKeys(blocks), readable: [...readable].sort() };
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function configFqn(type: JsiiType): string {
  const config = type.initializer?.parameters?.find((parameter) => parameter.name === 'config')?.type.fqn;
  if (config === undefined) throw new Error(`${type.fqn} has no config parameter`);
  return config;
}

function loadPackage(directory: string): PackageSource {
  const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  const assembly = JSON.parse(readFileSync(join(directory, '.jsii'), 'utf8')) as { types: Record<string, JsiiType> };
  return { name: manifest.name, version: manifest.version, types: assembly.types, libDir: join(directory, 'lib') };
}

function snapshotOf(package_: PackageSource): SchemaSnapshot['providers'][string] {
  const manifest = JSON.parse(readFileSync(join(package_.libDir, '..', 'package.json'), 'utf8')) as {
    cdktf?: { provider?: { name?: string; version?: string } };
  };
  const resources: Record<string, BlockSchema> = {};
  const dataSources: Record<string, BlockSchema> = {};
  let provider: BlockSchema | undefined;
  for (const type of Object.values(package_.types)) {
    if (type.kind !== 'class') continue;
    if (type.base === 'cdktf.TerraformProvider') {
      provider = blockOf(configFqn(type), undefined, package_);
      continue;
    }
    const kind = type.base === 'cdktf.TerraformResource' ? resources : type.base === 'cdktf.TerraformDataSource' ? dataSources : undefined;
    if (kind === undefined) continue;
    const terraformType = /\/docs\/(?:resources|data-sources)\/\S+ ([a-z0-9_]+)\}/.exec(type.docs?.summary ?? '')?.[1];
    if (terraformType === undefined) throw new Error(`${type.fqn}: no Terraform type name in its docs`);
    if (!keptTypePrefixes.some((prefix) => terraformType.startsWith(prefix))) continue;
    kind[terraformType] = blockOf(configFqn(type), type, package_);
  }
  if (provider === undefined) throw new Error(`${package_.name}: no provider class`);
  return {
    package: `${package_.name}@${package_.version}`,
    providerSource: (manifest.cdktf?.provider?.name ?? '').replace(/^registry\.terraform\.io\//, ''),
    providerVersion: manifest.cdktf?.provider?.version ?? '',
    provider,
    resources: sortKeys(resources),
    dataSources: sortKeys(dataSources),
  };
}

function main(argv: readonly string[]): void {
  const pairs = argv.map((argument) => argument.split('='));
  if (pairs.length === 0 || pairs.some((pair) => pair.length !== 2)) {
    throw new TypeError('usage: make-schema-snapshot.ts LOCALNAME=PACKAGE_DIR ... (e.g. google=/tmp/tfschema/google/package)');
  }
  const providers: SchemaSnapshot['providers'] = {};
  for (const [localName, directory] of pairs as [string, string][]) {
    providers[localName] = snapshotOf(loadPackage(directory));
  }
  const snapshot = schemaSnapshotSchema.parse({ generatedBy: 'scripts/terraform-check/make-schema-snapshot.ts', providers });
  writeFileSync(defaultSnapshotPath, `${JSON.stringify(snapshot, null, 1)}\n`);
  const counts = Object.entries(providers).map(
    ([name, p]) => `${name}: ${Object.keys(p.resources).length} resources, ${Object.keys(p.dataSources).length} data sources`,
  );
  process.stdout.write(`wrote ${fileURLToPath(defaultSnapshotPath)} (${counts.join('; ')})\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2));
}
