// Finds the references (var.x, local.y, google_z.n.attr, ...) in an hcl2json expression string.
import { getExpressionAst } from '@cdktf/hcl2json';

/** One step of a reference: a name (`.attr`) or an index (`["key"]`, `[0]`, `[each.key]`, `[*]`). */
export type Segment = { readonly kind: 'name'; readonly name: string } | { readonly kind: 'index' };

export interface Reference {
  readonly text: string;
  readonly segments: readonly Segment[];
  /** Names bound by enclosing `for` expressions, which shadow everything else. */
  readonly bound: ReadonlySet<string>;
}

/** `for` variables in scope; a value variable iterating over a resource stands for one of its instances. */
type Bindings = ReadonlyMap<string, readonly Segment[] | undefined>;

interface AstNode {
  readonly type: string;
  readonly meta?: {
    readonly value?: string;
    readonly keyVar?: string;
    readonly valVar?: string;
    readonly traversal?: readonly { readonly type: string; readonly segment: string }[];
  };
  readonly children?: readonly AstNode[];
}

function segmentsOf(node: AstNode): Segment[] {
  return (node.meta?.traversal ?? []).map((step) =>
    step.type === 'nameTraversal' ? { kind: 'name', name: step.segment } : { kind: 'index' },
  );
}

/** `google_x.y[each.key].url` and `google_x.y[*].url` arrive split in two; join them back into one path. */
function joined(node: AstNode): Segment[] | undefined {
  const [first, second] = node.children ?? [];
  if (node.type === 'relativeTraversal' && first?.type === 'index' && first.children?.[0]?.type === 'scopeTraversal') {
    return [...segmentsOf(first.children[0]), { kind: 'index' }, ...segmentsOf(node)];
  }
  if (node.type === 'splat' && first?.type === 'scopeTraversal' && second?.type === 'relativeTraversal') {
    return [...segmentsOf(first), { kind: 'index' }, ...segmentsOf(second)];
  }
  return undefined;
}

/** The address a `for` iterates over when its collection is a resource or data source itself. */
function iteratedAddress(collection: AstNode | undefined): Segment[] | undefined {
  if (collection?.type !== 'scopeTraversal') return undefined;
  const path = segmentsOf(collection);
  const isAddress = path.every((segment) => segment.kind === 'name') && path.length === (path[0]?.kind === 'name' && path[0].name === 'data' ? 3 : 2);
  const root = path[0]?.kind === 'name' ? path[0].name : '';
  return isAddress && (root === 'data' || root.includes('_')) ? path : undefined;
}

function resolve(path: Segment[], bindings: Bindings): Segment[] | undefined {
  const root = path[0]?.kind === 'name' ? path[0].name : undefined;
  if (root === undefined || !bindings.has(root)) return path;
  const address = bindings.get(root);
  // A `for` variable over a resource reads that resource's attributes; other `for` variables are opaque.
  return address === undefined ? undefined : [...address, { kind: 'index' }, ...path.slice(1)];
}

function collect(node: AstNode | null | undefined, bindings: Bindings, out: Reference[]): void {
  if (node === null || node === undefined) return;
  let scope = bindings;
  if (node.type === 'for') {
    const inner = new Map(bindings);
    if (node.meta?.keyVar) inner.set(node.meta.keyVar, undefined);
    if (node.meta?.valVar) inner.set(node.meta.valVar, iteratedAddress(node.children?.[0]));
    scope = inner;
  }
  const path = node.type === 'scopeTraversal' ? segmentsOf(node) : joined(node);
  const resolved = path === undefined || path.length === 0 ? undefined : resolve(path, scope);
  if (resolved !== undefined) out.push({ text: node.meta?.value ?? '', segments: resolved, bound: new Set() });
  else if (path !== undefined && path.length > 0) out.push({ text: node.meta?.value ?? '', segments: path, bound: new Set(scope.keys()) });
  for (const child of node.children ?? []) collect(child, scope, out);
}

export function containsExpression(text: string): boolean {
  return /(?<!\$)\$\{|(?<!%)%\{/.test(text);
}

const heredocMarker = 'TERRAFORM_CHECK_EXPRESSION_END';

/** The references in one hcl2json value string (a template: literal text with `${...}` parts). */
export async function referencesIn(filename: string, text: string): Promise<Reference[]> {
  if (!containsExpression(text)) return [];
  // A heredoc takes any template text as it is, quotes and newlines included.
  const ast = (await getExpressionAst(filename, `<<${heredocMarker}\n${text}\n${heredocMarker}\n`)) as AstNode | null;
  const out: Reference[] = [];
  collect(ast, new Map(), out);
  return out;
}
