// Schema: every resource, data source and provider block uses types, arguments and blocks the provider has.
import type { Finding } from './findings.js';
import { bodiesOf, isBody, lineOfArgument } from './load-configuration.js';
import type { Body, Configuration, TerraformBlock } from './load-configuration.js';
import type { BlockSchema, SchemaSnapshot } from './provider-schema.js';
import { providerOfType } from './provider-schema.js';

const resourceMetaArguments = new Set(['count', 'for_each', 'depends_on', 'provider', 'lifecycle', 'provisioner', 'connection']);
const dataMetaArguments = new Set(['count', 'for_each', 'depends_on', 'provider', 'lifecycle']);
const lifecycleArguments = new Set([
  'create_before_destroy',
  'prevent_destroy',
  'ignore_changes',
  'replace_triggered_by',
  'precondition',
  'postcondition',
]);
const variableArguments = new Set(['type', 'default', 'description', 'validation', 'sensitive', 'nullable', 'ephemeral']);
const outputArguments = new Set(['value', 'description', 'sensitive', 'depends_on', 'precondition', 'ephemeral']);

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** " (did you mean x?)" when a known name is close enough to be the intended one. */
export function suggestion(name: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}

interface Context {
  readonly block: TerraformBlock;
  readonly findings: Finding[];
  /** How the object is named in messages, e.g. google_kms_crypto_key.token_sealing.version_template. */
  readonly where: string;
}

function report(context: Context, name: string, message: string): void {
  context.findings.push({
    file: context.block.file.path,
    line: lineOfArgument(context.block.file, context.block.line, name),
    rule: 'schema',
    message,
  });
}

function checkBody(body: Body, schema: BlockSchema, context: Context, metaArguments: ReadonlySet<string>): void {
  const present = new Set<string>();
  for (const [name, value] of Object.entries(body)) {
    if (metaArguments.has(name)) {
      if (name === 'lifecycle') checkLifecycle(value, context);
      continue;
    }
    if (name === 'dynamic') {
      for (const [blockName, dynamics] of Object.entries(isBody(value) ? value : {})) {
        const nested = schema.blocks[blockName];
        if (nested === undefined) {
          report(context, blockName, `${context.where} has no block "${blockName}" for a dynamic block to generate${suggestion(blockName, Object.keys(schema.blocks))}`);
          continue;
        }
        present.add(blockName);
        for (const dynamic of bodiesOf(dynamics)) {
          for (const content of bodiesOf(dynamic.content)) {
            checkBody(content, nested.block, { ...context, where: `${context.where}.${blockName}` }, new Set());
          }
        }
      }
      continue;
    }
    present.add(name);
    if (name in schema.arguments) continue;
    const nested = schema.blocks[name];
    if (nested === undefined) {
      const known = [...Object.keys(schema.arguments), ...Object.keys(schema.blocks)];
      report(context, name, `${context.where} has no argument or block "${name}"${suggestion(name, known)}`);
      continue;
    }
    const bodies = bodiesOf(value);
    if (bodies.length === 0 || !Array.isArray(value) || bodies.length !== value.length) {
      report(context, name, `${context.where}.${name} is a block: write it as ${name} { ... }`);
      continue;
    }
    if (!nested.many && bodies.length > 1) {
      report(context, name, `${context.where}.${name} may appear at most once, found ${bodies.length}`);
    }
    for (const inner of bodies) checkBody(inner, nested.block, { ...context, where: `${context.where}.${name}` }, new Set());
  }
  for (const [name, argument] of Object.entries(schema.arguments)) {
    if (argument.required && !present.has(name)) report(context, name, `${context.where} is missing required argument "${name}"`);
  }
  for (const [name, nested] of Object.entries(schema.blocks)) {
    if (nested.required && !present.has(name)) report(context, name, `${context.where} is missing required block "${name}"`);
  }
}

function checkLifecycle(value: unknown, context: Context): void {
  for (const lifecycle of bodiesOf(value)) {
    for (const name of Object.keys(lifecycle)) {
      if (!lifecycleArguments.has(name)) {
        report(context, name, `${context.where}.lifecycle has no argument "${name}"${suggestion(name, lifecycleArguments)}`);
      }
    }
  }
}

function checkTypedBlock(block: TerraformBlock, snapshot: SchemaSnapshot, findings: Finding[]): void {
  const type = block.type as string;
  const isData = block.kind === 'data';
  const address = `${isData ? 'data.' : ''}${type}.${block.name}`;
  const providerName = providerOfType(type, snapshot);
  const provider = providerName === undefined ? undefined : snapshot.providers[providerName];
  const context: Context = { block, findings, where: address };
  if (provider === undefined) {
    findings.push({
      file: block.file.path,
      line: block.line,
      rule: 'schema',
      message: `${address}: no provider in the schema snapshot serves type ${type} (known: ${Object.keys(snapshot.providers).join(', ')})`,
    });
    return;
  }
  const types = isData ? provider.dataSources : provider.resources;
  const schema = types[type];
  if (schema === undefined) {
    findings.push({
      file: block.file.path,
      line: block.line,
      rule: 'schema',
      message:
        `${address}: ${type} is not a ${isData ? 'data source' : 'resource'} type of ${provider.providerSource} ${provider.providerVersion}` +
        `${suggestion(type, Object.keys(types))} — if it is real, add its prefix to keptTypePrefixes in make-schema-snapshot.ts and regenerate the snapshot`,
    });
    return;
  }
  checkBody(block.body, schema, context, isData ? dataMetaArguments : resourceMetaArguments);
}

function checkPlainBlock(block: TerraformBlock, allowed: ReadonlySet<string>, findings: Finding[]): void {
  for (const name of Object.keys(block.body)) {
    if (!allowed.has(name)) {
      findings.push({
        file: block.file.path,
        line: lineOfArgument(block.file, block.line, name),
        rule: 'schema',
        message: `${block.kind} "${block.name}" has no argument "${name}"${suggestion(name, allowed)}`,
      });
    }
  }
}

export function checkSchema(configuration: Configuration, snapshot: SchemaSnapshot): Finding[] {
  const findings: Finding[] = [];
  for (const block of configuration.blocks) {
    if (block.kind === 'resource' || block.kind === 'data') {
      checkTypedBlock(block, snapshot, findings);
    } else if (block.kind === 'provider') {
      const provider = snapshot.providers[block.name];
      if (provider === undefined) {
        findings.push({ file: block.file.path, line: block.line, rule: 'schema', message: `provider "${block.name}" is not in the schema snapshot` });
      } else {
        checkBody(block.body, provider.provider, { block, findings, where: `provider "${block.name}"` }, new Set(['alias']));
      }
    } else if (block.kind === 'variable') {
      checkPlainBlock(block, variableArguments, findings);
    } else if (block.kind === 'output') {
      checkPlainBlock(block, outputArguments, findings);
    }
  }
  return findings;
}
