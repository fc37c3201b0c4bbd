// Finds every Firestore query the code runs and the shapes it can take, from the source, with the TypeScript compiler.
//
// A query is found where it runs (`.get()`, `.stream()`, `.count()`, `transaction.get(query)`, ...) and
// followed back through its chain: `.where()` / `.orderBy()` / pass-through calls, `const` and `let`
// variables, helper functions that return a query (`flowsCollection(firestore).where(...)`), and query
// parameters (through every call site). Collection names, fields, operators and directions must be strings
// the compiler knows exactly (literals or `as const` names such as `collectionNames.connections`).
//
// A `let` query refined under `if` statements (`if (provider) query = query.where(...)`) yields one shape
// per combination of branches. Anything else — a query refined in a `catch`, a ternary or a loop, a
// `Filter.or`, a computed field name — is reported as a problem at its line so the author writes the
// shapes out, rather than guessed at. So is every `.where()` / `.orderBy()` the analysis never sees run.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import type { Direction, QueryFilter, QueryOrder, QueryScope, QueryShape, SourceSite, WhereOperator } from './index-rules.js';
import { documentNameField, shapeKey, whereOperators } from './index-rules.js';

export interface DiscoveredQuery {
  readonly shape: QueryShape;
  /** Where the query runs. */
  readonly executedAt: SourceSite;
  /** Where its collection is chosen. */
  readonly builtAt: SourceSite;
  /** For a conditionally built query, the branches that produce this shape. */
  readonly variant: string | undefined;
}

export interface DiscoveryProblem {
  readonly site: SourceSite;
  readonly message: string;
}

export interface QueryDiscovery {
  readonly queries: readonly DiscoveredQuery[];
  readonly problems: readonly DiscoveryProblem[];
  readonly filesAnalyzed: number;
}

export interface DiscoverOptions {
  readonly repositoryRoot: string;
  /** Folders, relative to the root, whose TypeScript files are searched for queries. */
  readonly folders: readonly string[];
}

interface Candidate {
  readonly shape: QueryShape;
  readonly builtAt: SourceSite;
  readonly variant: readonly string[];
}

interface Scope {
  /** Current values of `let` variables while one path through a function is followed. */
  readonly bindings: ReadonlyMap<ts.Symbol, readonly Candidate[]>;
  /** Query arguments of the helper call being followed, evaluated only if the body reads them. */
  readonly parameters: ReadonlyMap<ts.Symbol, () => readonly Candidate[]>;
  readonly depth: number;
}

class Unanalyzable extends Error {
  constructor(
    readonly node: ts.Node,
    message: string,
  ) {
    super(message);
  }
}

const queryClassNames = new Set(['Query', 'CollectionReference', 'CollectionGroup']);
const executingMethods = new Set(['get', 'stream', 'onSnapshot', 'count', 'aggregate', 'explain', 'explainStream']);
// Calls that return the same query for index purposes: limits, cursors, projections, converters.
const passThroughMethods = new Set(['limit', 'offset', 'select', 'startAt', 'startAfter', 'endAt', 'endBefore', 'withConverter']);
const refiningMethods = new Set(['where', 'orderBy', 'limitToLast', 'findNearest']);
const maxDecisions = 8;
const maxDepth = 25;
const emptyScope: Scope = { bindings: new Map(), parameters: new Map(), depth: 0 };

function typeScriptFiles(directory: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(directory).sort()) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) files.push(...typeScriptFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

function compilerOptions(repositoryRoot: string): ts.CompilerOptions {
  const configPath = join(repositoryRoot, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  if (read.error) throw new Error(`Cannot read ${configPath}: ${ts.flattenDiagnosticMessageText(read.error.messageText, '\n')}`);
  return { ...ts.parseJsonConfigFileContent(read.config, ts.sys, repositoryRoot).options, noEmit: true };
}

function isFunctionLike(node: ts.Node): node is ts.SignatureDeclaration & { body?: ts.Node } {
  return ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) || ts.isMethodDeclaration(node);
}

function enclosingFunction(node: ts.Node): ts.Node {
  let current = node.parent;
  while (current !== undefined && !isFunctionLike(current) && !ts.isSourceFile(current)) current = current.parent;
  return current ?? node.getSourceFile();
}

function isLoop(node: ts.Node): boolean {
  return ts.isForStatement(node) || ts.isForOfStatement(node) || ts.isForInStatement(node) || ts.isWhileStatement(node) || ts.isDoStatement(node);
}

function contains(outer: ts.Node, inner: ts.Node): boolean {
  return inner.getStart() >= outer.getStart() && inner.getEnd() <= outer.getEnd();
}

interface Guard {
  readonly decision: ts.IfStatement;
  /** 0: the then branch, 1: the else branch (taken also when there is no else). */
  readonly branch: 0 | 1;
}

class QueryAnalyzer {
  private readonly checker: ts.TypeChecker;
  private readonly covered = new Set<ts.Node>();
  private callSites: Map<ts.Node, ts.CallExpression[]> | undefined;

  constructor(
    private readonly program: ts.Program,
    private readonly repositoryRoot: string,
  ) {
    this.checker = program.getTypeChecker();
  }

  site(node: ts.Node): SourceSite {
    const source = node.getSourceFile();
    const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
    return { file: relative(this.repositoryRoot, source.fileName).split(sep).join('/'), line };
  }

  private isFirestoreDeclaration(declaration: ts.Node | undefined): boolean {
    return declaration !== undefined && declaration.getSourceFile().fileName.includes('@google-cloud/firestore');
  }

  private isFirestoreClass(type: ts.Type, names: ReadonlySet<string>): boolean {
    const symbol = type.getSymbol() ?? type.aliasSymbol;
    if (symbol === undefined || !names.has(symbol.getName())) return false;
    return (symbol.getDeclarations() ?? []).some((declaration) => this.isFirestoreDeclaration(declaration));
  }

  isQueryExpression(node: ts.Expression): boolean {
    return this.isFirestoreClass(this.checker.getTypeAtLocation(node), queryClassNames);
  }

  isTransactionExpression(node: ts.Expression): boolean {
    return this.isFirestoreClass(this.checker.getTypeAtLocation(node), new Set(['Transaction']));
  }

  isCovered(node: ts.Node): boolean {
    return this.covered.has(node);
  }

  private stringLiteral(node: ts.Expression | undefined, what: string, at: ts.Node): string {
    if (node === undefined) throw new Unanalyzable(at, `${what} is missing`);
    if (this.isDocumentIdCall(node)) return documentNameField;
    const type = this.checker.getTypeAtLocation(node);
    if (type.isStringLiteral()) return type.value;
    throw new Unanalyzable(node, `${what} \`${node.getText()}\` is not a string the compiler knows exactly; use a literal or an \`as const\` name`);
  }

  /** FieldPath.documentId(): the document name, `__name__` in index definitions. */
  private isDocumentIdCall(node: ts.Expression): boolean {
    return (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'documentId' &&
      this.isFirestoreDeclaration(this.checker.getResolvedSignature(node)?.getDeclaration())
    );
  }

  evaluate(expression: ts.Expression, scope: Scope): readonly Candidate[] {
    if (scope.depth > maxDepth) throw new Unanalyzable(expression, 'the query is built through too deep a chain of helpers to follow');
    const next: Scope = { ...scope, depth: scope.depth + 1 };
    if (
      ts.isParenthesizedExpression(expression) ||
      ts.isAsExpression(expression) ||
      ts.isNonNullExpression(expression) ||
      ts.isSatisfiesExpression(expression) ||
      ts.isTypeAssertionExpression(expression)
    ) {
      return this.evaluate(expression.expression, next);
    }
    if (ts.isConditionalExpression(expression)) {
      return [...this.evaluate(expression.whenTrue, next), ...this.evaluate(expression.whenFalse, next)];
    }
    if (ts.isIdentifier(expression)) return this.evaluateIdentifier(expression, next);
    if (ts.isCallExpression(expression)) return this.evaluateCall(expression, next);
    throw new Unanalyzable(expression, `cannot follow the query \`${expression.getText()}\` back to its collection`);
  }

  private evaluateCall(call: ts.CallExpression, scope: Scope): readonly Candidate[] {
    const declaration = this.checker.getResolvedSignature(call)?.getDeclaration();
    if (ts.isPropertyAccessExpression(call.expression) && this.isFirestoreDeclaration(declaration)) {
      return this.evaluateFirestoreCall(call, call.expression, scope);
    }
    if (declaration !== undefined && isFunctionLike(declaration) && declaration.body !== undefined && !declaration.getSourceFile().isDeclarationFile) {
      return this.evaluateHelper(call, declaration, scope);
    }
    throw new Unanalyzable(call, `cannot see which query \`${call.expression.getText()}(…)\` returns`);
  }

  private evaluateFirestoreCall(call: ts.CallExpression, callee: ts.PropertyAccessExpression, scope: Scope): readonly Candidate[] {
    const method = callee.name.text;
    if (method === 'collection' || method === 'collectionGroup') {
      const collection = this.stringLiteral(call.arguments[0], 'The collection name', call);
      const scopeKind: QueryScope = method === 'collection' ? 'COLLECTION' : 'COLLECTION_GROUP';
      // A path like 'a/b/c' names the collection group by its last segment.
      const shape: QueryShape = { collection: collection.split('/').at(-1) ?? collection, scope: scopeKind, filters: [], orders: [], limitToLast: false };
      return [{ shape, builtAt: this.site(call), variant: [] }];
    }
    if (passThroughMethods.has(method)) return this.evaluate(callee.expression, scope);
    if (method === 'where') {
      this.covered.add(call);
      // An or() of single filters runs as one query per disjunct (Firestore serves each from its own index).
      const disjuncts = call.arguments.length < 3 ? this.disjunctsOf(call) : [this.whereFilter(call, call.arguments, 'where()')];
      return this.evaluate(callee.expression, scope).flatMap((candidate) =>
        disjuncts.map((filter) => ({ ...candidate, shape: { ...candidate.shape, filters: [...candidate.shape.filters, filter] } })),
      );
    }
    if (method === 'orderBy') {
      this.covered.add(call);
      const field = this.stringLiteral(call.arguments[0], 'The orderBy() field', call);
      const direction = call.arguments[1] === undefined ? 'asc' : this.stringLiteral(call.arguments[1], 'The orderBy() direction', call);
      if (direction !== 'asc' && direction !== 'desc') throw new Unanalyzable(call, `unknown orderBy() direction '${direction}'`);
      const order: QueryOrder = { field, direction: direction as Direction };
      return this.evaluate(callee.expression, scope).map((candidate) => ({
        ...candidate,
        shape: { ...candidate.shape, orders: [...candidate.shape.orders, order] },
      }));
    }
    if (method === 'limitToLast') {
      this.covered.add(call);
      return this.evaluate(callee.expression, scope).map((candidate) => ({ ...candidate, shape: { ...candidate.shape, limitToLast: true } }));
    }
    this.covered.add(call);
    throw new Unanalyzable(call, `the Firestore call .${method}() is not analyzed (vector and other special queries need their indexes declared by hand)`);
  }

  private whereFilter(call: ts.CallExpression, args: ts.NodeArray<ts.Expression>, what: string): QueryFilter {
    const field = this.stringLiteral(args[0], `The ${what} field`, call);
    const operator = this.stringLiteral(args[1], `The ${what} operator`, call);
    if (!(whereOperators as readonly string[]).includes(operator)) throw new Unanalyzable(call, `unknown ${what} operator '${operator}'`);
    return { field, operator: operator as WhereOperator };
  }

  /** The filters of `where(Filter.or(Filter.where(…), …))`; any other composite filter is not analyzed. */
  private disjunctsOf(call: ts.CallExpression): QueryFilter[] {
    const composite = call.arguments[0];
    const isFilterCall = (node: ts.Node | undefined, name: string): node is ts.CallExpression =>
      node !== undefined && ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.getText() === `Filter.${name}`;
    if (call.arguments.length !== 1 || !isFilterCall(composite, 'or') || !composite.arguments.every((each) => isFilterCall(each, 'where') && each.arguments.length === 3)) {
      throw new Unanalyzable(call, 'where(Filter…) composite filters other than Filter.or(Filter.where(…), …) are not analyzed; write separate where(field, op, value) calls or named queries');
    }
    return composite.arguments.map((each) => this.whereFilter(call, (each as ts.CallExpression).arguments, 'Filter.where()'));
  }

  private evaluateHelper(call: ts.CallExpression, helper: ts.SignatureDeclaration & { body?: ts.Node }, scope: Scope): readonly Candidate[] {
    const parameters = new Map<ts.Symbol, () => readonly Candidate[]>();
    helper.parameters.forEach((parameter, position) => {
      const argument = call.arguments[position];
      const symbol = ts.isIdentifier(parameter.name) ? this.checker.getSymbolAtLocation(parameter.name) : undefined;
      if (argument !== undefined && symbol !== undefined) parameters.set(symbol, () => this.evaluate(argument, scope));
    });
    const inner: Scope = { bindings: new Map(), parameters, depth: scope.depth };
    const body = helper.body;
    if (body === undefined) throw new Unanalyzable(call, 'the helper has no body to follow');
    if (!ts.isBlock(body)) return this.evaluate(body as ts.Expression, inner);
    const returned: ts.Expression[] = [];
    const visit = (node: ts.Node): void => {
      if (isFunctionLike(node)) return;
      if (ts.isReturnStatement(node) && node.expression !== undefined) returned.push(node.expression);
      ts.forEachChild(node, visit);
    };
    ts.forEachChild(body, visit);
    if (returned.length === 0) throw new Unanalyzable(call, `\`${call.expression.getText()}\` returns no query the analysis can see`);
    return returned.flatMap((expression) => this.evaluate(expression, inner));
  }

  private evaluateIdentifier(identifier: ts.Identifier, scope: Scope): readonly Candidate[] {
    let symbol = this.checker.getSymbolAtLocation(identifier);
    if (symbol === undefined) throw new Unanalyzable(identifier, `cannot resolve \`${identifier.text}\``);
    if (symbol.flags & ts.SymbolFlags.Alias) symbol = this.checker.getAliasedSymbol(symbol);
    const bound = scope.bindings.get(symbol);
    if (bound !== undefined) return bound;
    const parameter = scope.parameters.get(symbol);
    if (parameter !== undefined) return parameter();
    const declaration = symbol.valueDeclaration ?? symbol.declarations?.[0];
    if (declaration === undefined) throw new Unanalyzable(identifier, `cannot find where \`${identifier.text}\` is declared`);
    if (ts.isParameter(declaration)) return this.evaluateParameterFromCallers(identifier, declaration, scope);
    if (ts.isVariableDeclaration(declaration) && ts.isIdentifier(declaration.name)) {
      const constant = (declaration.parent.flags & ts.NodeFlags.Const) !== 0;
      if (constant) {
        if (declaration.initializer === undefined) throw new Unanalyzable(declaration, `\`${identifier.text}\` has no initializer`);
        return this.evaluate(declaration.initializer, { ...emptyScope, depth: scope.depth });
      }
      return this.reachingValues(declaration, symbol, identifier, scope);
    }
    throw new Unanalyzable(identifier, `cannot follow \`${identifier.text}\` (not a variable or parameter) back to its query`);
  }

  private allCallSites(): Map<ts.Node, ts.CallExpression[]> {
    if (this.callSites !== undefined) return this.callSites;
    const sites = new Map<ts.Node, ts.CallExpression[]>();
    for (const source of this.program.getSourceFiles()) {
      if (source.isDeclarationFile || source.fileName.includes('/node_modules/')) continue;
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node)) {
          const declaration = this.checker.getResolvedSignature(node)?.getDeclaration();
          if (declaration !== undefined && !declaration.getSourceFile().isDeclarationFile) {
            sites.set(declaration, [...(sites.get(declaration) ?? []), node]);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    this.callSites = sites;
    return sites;
  }

  private evaluateParameterFromCallers(identifier: ts.Identifier, parameter: ts.ParameterDeclaration, scope: Scope): readonly Candidate[] {
    const owner = parameter.parent;
    const position = owner.parameters.indexOf(parameter);
    const callers = this.allCallSites().get(owner) ?? [];
    const arguments_ = callers.map((call) => call.arguments[position]).filter((argument) => argument !== undefined);
    if (arguments_.length === 0) {
      throw new Unanalyzable(identifier, `the query parameter \`${identifier.text}\` has no direct caller in the analyzed code to take its shape from`);
    }
    return arguments_.flatMap((argument) => this.evaluate(argument, { ...emptyScope, depth: scope.depth }));
  }

  /** The guards (enclosing if branches, below the function) of a node; throws where a branch is not an if. */
  private guardsOf(node: ts.Node, owner: ts.Node, strict: boolean): Guard[] {
    const guards: Guard[] = [];
    let child = node;
    let current = node.parent;
    while (current !== undefined && current !== owner) {
      if (ts.isIfStatement(current)) {
        if (child === current.thenStatement) guards.push({ decision: current, branch: 0 });
        else if (child === current.elseStatement) guards.push({ decision: current, branch: 1 });
      } else if (strict) {
        const conditional =
          (ts.isConditionalExpression(current) && child !== current.condition) ||
          (ts.isBinaryExpression(current) &&
            child === current.right &&
            [ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.QuestionQuestionToken].includes(current.operatorToken.kind)) ||
          ts.isCatchClause(current) ||
          ts.isCaseClause(current) ||
          ts.isDefaultClause(current);
        if (conditional) {
          throw new Unanalyzable(node, 'the query is refined under a condition other than an if statement; use if/else or separate named queries');
        }
      }
      child = current;
      current = current.parent;
    }
    return guards;
  }

  /** The values a `let` query can hold where `use` reads it: one per combination of the if branches that refine it. */
  private reachingValues(declaration: ts.VariableDeclaration, symbol: ts.Symbol, use: ts.Identifier, scope: Scope): readonly Candidate[] {
    const owner = enclosingFunction(declaration);
    const name = use.text;
    if (enclosingFunction(use) !== owner) throw new Unanalyzable(use, `the let-bound query \`${name}\` is read inside a nested function; read it where it is built`);
    const assignments: ts.BinaryExpression[] = [];
    const visit = (node: ts.Node): void => {
      if (
        ts.isBinaryExpression(node) &&
        node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
        ts.isIdentifier(node.left) &&
        this.checker.getSymbolAtLocation(node.left) === symbol
      ) {
        if (enclosingFunction(node) !== owner) throw new Unanalyzable(node, `the let-bound query \`${name}\` is reassigned inside a nested function`);
        assignments.push(node);
      }
      ts.forEachChild(node, visit);
    };
    visit(owner);

    const inLoop = (node: ts.Node): boolean => {
      for (let current = node.parent; current !== undefined && current !== owner; current = current.parent) {
        if (isLoop(current) && !contains(current, declaration)) return true;
      }
      return false;
    };
    // Reassignments in a loop (paging with startAfter) are fine as long as they leave the shape alone.
    for (const assignment of assignments.filter(inLoop)) {
      const probe: Candidate = { shape: { collection: '\u0000probe', scope: 'COLLECTION', filters: [], orders: [], limitToLast: false }, builtAt: this.site(assignment), variant: [] };
      const result = this.evaluate(assignment.right, { ...scope, bindings: new Map(scope.bindings).set(symbol, [probe]) });
      if (result.length !== 1 || shapeKey((result[0] as Candidate).shape) !== shapeKey(probe.shape)) {
        throw new Unanalyzable(assignment, `the query \`${name}\` gains filters or orders inside a loop; build each shape explicitly`);
      }
    }
    const relevant = assignments.filter((assignment) => !inLoop(assignment) && assignment.getEnd() <= use.getStart());
    const assignmentGuards = relevant.map((assignment) => this.guardsOf(assignment, owner, true));
    const useGuards = this.guardsOf(use, owner, false);
    const decisions = [...new Set([...assignmentGuards.flat(), ...useGuards].map((guard) => guard.decision))];
    if (decisions.length > maxDecisions) {
      throw new Unanalyzable(use, `the query \`${name}\` depends on ${decisions.length} if statements (at most ${maxDecisions} are enumerated); split it into named queries`);
    }
    const holds = (guards: readonly Guard[], choice: readonly number[]): boolean =>
      guards.every((guard) => choice[decisions.indexOf(guard.decision)] === guard.branch);

    // Decisions whose branch changes the shape somewhere; only those are named in a variant.
    const refining = new Set<ts.IfStatement>();
    const outcomes: { choice: number[]; value: readonly Candidate[] }[] = [];
    for (let combination = 0; combination < 2 ** decisions.length; combination += 1) {
      const choice = decisions.map((_, position) => (combination >> position) & 1);
      if (!holds(useGuards, choice)) continue;
      let value: readonly Candidate[] | undefined =
        declaration.initializer === undefined ? undefined : this.evaluate(declaration.initializer, { ...scope, bindings: new Map(scope.bindings) });
      relevant.forEach((assignment, position) => {
        const guards = assignmentGuards[position] ?? [];
        if (!holds(guards, choice)) return;
        const bindings = new Map(scope.bindings);
        if (value !== undefined) bindings.set(symbol, value);
        const before = value?.map((candidate) => shapeKey(candidate.shape)).join('|');
        value = this.evaluate(assignment.right, { ...scope, bindings });
        if (value.map((candidate) => shapeKey(candidate.shape)).join('|') !== before) for (const guard of guards) refining.add(guard.decision);
      });
      if (value !== undefined) outcomes.push({ choice, value });
    }
    const results: Candidate[] = [];
    const seen = new Set<string>();
    for (const { choice, value } of outcomes) {
      const variant = decisions
        .filter((decision) => refining.has(decision))
        .map((decision) => `${choice[decisions.indexOf(decision)] === 0 ? 'if' : 'unless'} (${decision.expression.getText()})`);
      for (const candidate of value) {
        const key = shapeKey(candidate.shape);
        if (!seen.has(key)) {
          seen.add(key);
          results.push({ ...candidate, variant: [...candidate.variant, ...variant] });
        }
      }
    }
    if (results.length === 0) throw new Unanalyzable(use, `the query \`${name}\` is never assigned on any path that reaches this use`);
    // Branches that only page or limit leave one shape: naming them would suggest a difference there is not.
    return results.length === 1 ? results.map((candidate) => ({ ...candidate, variant: [] })) : results;
  }
}

/** Every query run by the TypeScript files under `folders`, with its possible shapes, and what could not be analyzed. */
export function discoverQueries(options: DiscoverOptions): QueryDiscovery {
  const files = options.folders.flatMap((folder) => typeScriptFiles(join(options.repositoryRoot, folder)));
  const program = ts.createProgram({ rootNames: files, options: compilerOptions(options.repositoryRoot) });
  const analyzer = new QueryAnalyzer(program, options.repositoryRoot);
  const queries: DiscoveredQuery[] = [];
  const problems: DiscoveryProblem[] = [];
  const refinements: ts.CallExpression[] = [];

  // A function already reported as unanalyzable is not reported again for each refinement left unseen.
  const reportedFunctions = new Set<ts.Node>();
  const run = (query: ts.Expression, execution: ts.Node): void => {
    try {
      const seen = new Set<string>();
      for (const candidate of analyzer.evaluate(query, emptyScope)) {
        if (seen.has(shapeKey(candidate.shape))) continue;
        seen.add(shapeKey(candidate.shape));
        queries.push({
          shape: candidate.shape,
          executedAt: analyzer.site(execution),
          builtAt: candidate.builtAt,
          variant: candidate.variant.length === 0 ? undefined : candidate.variant.join(', '),
        });
      }
    } catch (error) {
      if (!(error instanceof Unanalyzable)) throw error;
      const runAt = analyzer.site(execution);
      reportedFunctions.add(enclosingFunction(error.node));
      reportedFunctions.add(enclosingFunction(execution));
      problems.push({ site: analyzer.site(error.node), message: `${error.message} (query run at ${runAt.file}:${runAt.line})` });
    }
  };

  for (const file of files) {
    const source = program.getSourceFile(file);
    if (source === undefined) throw new Error(`The TypeScript program did not load ${file}`);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
        const method = node.expression.name.text;
        const receiver = node.expression.expression;
        if (executingMethods.has(method) && analyzer.isQueryExpression(receiver)) run(receiver, node);
        else if (method === 'get' && analyzer.isTransactionExpression(receiver)) {
          for (const argument of node.arguments) if (analyzer.isQueryExpression(argument)) run(argument, node);
        }
        if (refiningMethods.has(method) && analyzer.isQueryExpression(receiver)) refinements.push(node);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  for (const refinement of refinements) {
    if (!analyzer.isCovered(refinement) && !reportedFunctions.has(enclosingFunction(refinement))) {
      problems.push({
        site: analyzer.site(refinement),
        message: `builds a query the analysis never sees run (\`${refinement.getText().slice(0, 80)}\`); run it in the same function, or return it from a helper whose callers run it`,
      });
    }
  }
  const order = (a: SourceSite, b: SourceSite): number => a.file.localeCompare(b.file) || a.line - b.line;
  queries.sort((a, b) => order(a.executedAt, b.executedAt) || (a.variant ?? '').localeCompare(b.variant ?? ''));
  problems.sort((a, b) => order(a.site, b.site) || a.message.localeCompare(b.message));
  return { queries, problems: dedupeProblems(problems), filesAnalyzed: files.length };
}

function dedupeProblems(problems: readonly DiscoveryProblem[]): DiscoveryProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.site.file}:${problem.site.line}:${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
