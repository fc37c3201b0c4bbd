// References: every var., local., data., module. and resource reference names something declared, and
// every attribute read from a resource or data source exists in the provider schema.
import type { Reference, Segment } from './expression-references.js';
import { referencesIn } from './expression-references.js';
import type { Finding } from './findings.js';
import { bodiesOf, isBody, lineOf } from './load-configuration.js';
import type { Body, Configuration, TerraformBlock } from './load-configuration.js';
import type { BlockSchema, SchemaSnapshot } from './provider-schema.js';
import { providerOfType } from './provider-schema.js';
import { suggestion } from './check-schema.js';

const builtinRoots = new Set(['path', 'terraform']);

interface Declarations {
  readonly variables: ReadonlySet<string>;
  readonly locals: ReadonlySet<string>;
  readonly modules: ReadonlySet<string>;
  /** `type.name` of resources, and `data.type.name` of data sources. */
  readonly addresses: ReadonlySet<string>;
}

function declarationsOf(configuration: Configuration): Declarations {
  const of = (kind: string) => new Set(configuration.blocks.filter((block) => block.kind === kind).map((block) => block.name));
  const addresses = new Set(
    configuration.blocks
      .filter((block) => block.kind === 'resource' || block.kind === 'data')
      .map((block) => `${block.kind === 'data' ? 'data.' : ''}${block.type}.${block.name}`),
  );
  return { variables: of('variable'), locals: of('locals'), modules: of('module'), addresses };
}

interface Expression {
  readonly text: string;
  /** Names usable here besides the global ones: each, count, self, dynamic block iterators. */
  readonly scope: ReadonlySet<string>;
}

/** Every template string in a body, with the names in scope where it sits. */
function expressionsOf(value: unknown, scope: ReadonlySet<string>, out: Expression[]): void {
  if (typeof value === 'string') {
    out.push({ text: value, scope });
  } else if (Array.isArray(value)) {
    for (const item of value) expressionsOf(item, scope, out);
  } else if (isBody(value)) {
    for (const [key, inner] of Object.entries(value)) {
      out.push({ text: key, scope });
      if (key === 'dynamic' && isBody(inner)) {
        for (const [label, dynamics] of Object.entries(inner)) {
          for (const dynamic of bodiesOf(dynamics)) expressionsOfDynamic(label, dynamic, scope, out);
        }
      } else {
        expressionsOf(inner, scope, out);
      }
    }
  }
}

function expressionsOfDynamic(label: string, dynamic: Body, scope: ReadonlySet<string>, out: Expression[]): void {
  const iterator = typeof dynamic.iterator === 'string' ? dynamic.iterator : label;
  const inner = new Set([...scope, iterator]);
  for (const [key, value] of Object.entries(dynamic)) {
    expressionsOf(value, key === 'content' || key === 'labels' ? inner : scope, out);
  }
}

function blockScope(block: TerraformBlock): Set<string> {
  const scope = new Set<string>();
  if (block.kind === 'resource' || block.kind === 'data' || block.kind === 'module') {
    if ('for_each' in block.body) scope.add('each');
    if ('count' in block.body) scope.add('count');
  }
  if (block.kind === 'resource') scope.add('self');
  return scope;
}

function names(segments: readonly Segment[]): (string | undefined)[] {
  return segments.map((segment) => (segment.kind === 'name' ? segment.name : undefined));
}

/** Walks the attribute path after a resource address through the schema, returning the first unknown name. */
function unknownAttribute(path: readonly Segment[], schema: BlockSchema): { name: string; known: readonly string[] } | undefined {
  let current: BlockSchema | undefined = schema;
  for (const segment of path) {
    if (segment.kind === 'index') continue;
    if (current === undefined) return undefined;
    if (!current.readable.includes(segment.name)) return { name: segment.name, known: current.readable };
    current = current.blocks[segment.name]?.block;
  }
  return undefined;
}

function schemaOf(type: string, isData: boolean, snapshot: SchemaSnapshot): BlockSchema | undefined {
  const provider = providerOfType(type, snapshot);
  if (provider === undefined) return undefined;
  const types = isData ? snapshot.providers[provider]?.dataSources : snapshot.providers[provider]?.resources;
  return types?.[type];
}

function problemWith(reference: Reference, scope: ReadonlySet<string>, declared: Declarations, snapshot: SchemaSnapshot): string | undefined {
  const [root, second, third] = names(reference.segments);
  if (root === undefined || reference.bound.has(root) || scope.has(root) || builtinRoots.has(root)) return undefined;
  if (root === 'each' || root === 'count' || root === 'self') {
    return `${root}.${second ?? ''} is used where no ${root === 'self' ? 'resource' : root === 'each' ? 'for_each' : 'count'} is in scope`;
  }
  if (root === 'var') {
    if (second !== undefined && !declared.variables.has(second)) {
      return `var.${second} is not declared${suggestion(second, declared.variables)}`;
    }
    return undefined;
  }
  if (root === 'local') {
    if (second !== undefined && !declared.locals.has(second)) return `local.${second} is not declared${suggestion(second, declared.locals)}`;
    return undefined;
  }
  if (root === 'module') {
    if (second !== undefined && !declared.modules.has(second)) return `module.${second} is not declared`;
    return undefined;
  }
  const isData = root === 'data';
  const type = isData ? second : root;
  const name = isData ? third : second;
  if (type === undefined || name === undefined) return `${reference.text} is not a reference Terraform can resolve`;
  const address = `${isData ? 'data.' : ''}${type}.${name}`;
  if (!declared.addresses.has(address)) {
    const hint = suggestion(address, declared.addresses);
    return `${address} is not declared${hint}${isData || type.includes('_') ? '' : ` (and "${root}" is not a name in scope here)`}`;
  }
  const schema = schemaOf(type, isData, snapshot);
  if (schema === undefined) return undefined;
  const unknown = unknownAttribute(reference.segments.slice(isData ? 3 : 2), schema);
  if (unknown !== undefined) return `${address} has no attribute "${unknown.name}"${suggestion(unknown.name, unknown.known)}`;
  return undefined;
}

export async function checkReferences(configuration: Configuration, snapshot: SchemaSnapshot): Promise<Finding[]> {
  const declared = declarationsOf(configuration);
  const findings: Finding[] = [];
  for (const block of configuration.blocks) {
    const expressions: Expression[] = [];
    // A variable's type is a type constraint (string, map(bool)), not an expression.
    const body = block.kind === 'variable' ? { ...block.body, type: undefined } : block.body;
    expressionsOf(body, blockScope(block), expressions);
    for (const expression of expressions) {
      for (const reference of await referencesIn(block.file.path, expression.text)) {
        const problem = problemWith(reference, expression.scope, declared, snapshot);
        if (problem === undefined) continue;
        const first = reference.text.split(/[.[]/)[0] ?? reference.text;
        const line = lineOf(block.file.source, new RegExp(first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), block.line, block.line);
        findings.push({
          file: block.file.path,
          line: lineOf(block.file.source, new RegExp(reference.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), block.line, line),
          rule: 'reference',
          message: `${block.kind === 'locals' ? `local.${block.name}` : `${block.kind} ${block.type ? `${block.type}.` : ''}${block.name}`}: ${problem}`,
        });
      }
    }
  }
  return findings;
}
