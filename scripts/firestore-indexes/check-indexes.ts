// Compares the indexes the code's queries need with firestore.indexes.json: missing, unused and unusable indexes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firestoreDefinitionSchema } from '../terraform-check/check-firestore-definition.js';
import type { DiscoveredQuery, QueryDiscovery } from './discover-queries.js';
import { discoverQueries } from './discover-queries.js';
import type { CompositeIndex, IndexField, QueryShape, SourceSite } from './index-rules.js';
import { analyzeIndexNeed, describeIndex, describeShape, indexServes, mergedIndexesServing } from './index-rules.js';

export type FirestoreDefinition = ReturnType<typeof firestoreDefinitionSchema.parse>;

export const indexFindingKinds = ['unanalyzable', 'invalid-query', 'missing-index', 'unused-index', 'exempted-field'] as const;
export type IndexFindingKind = (typeof indexFindingKinds)[number];

export interface IndexFinding {
  readonly kind: IndexFindingKind;
  readonly site: SourceSite;
  readonly message: string;
}

export interface IndexCheck {
  readonly discovery: QueryDiscovery;
  /** The distinct composite indexes the queries need. */
  readonly requiredIndexes: readonly CompositeIndex[];
  readonly findings: readonly IndexFinding[];
}

export interface IndexCheckOptions {
  readonly repositoryRoot: string;
  /** Folders searched for queries, relative to the root. */
  readonly folders: readonly string[];
  /** firestore.indexes.json, relative to the root. */
  readonly definitionPath: string;
  /** The parsed definition, when the caller has it in hand (tests); otherwise read from definitionPath. */
  readonly definition?: FirestoreDefinition;
}

export const repositoryQueryFolders = ['shared', 'functions'] as const;

export function formatIndexFinding(finding: IndexFinding): string {
  return `${finding.site.file}:${finding.site.line}: [${finding.kind}] ${finding.message}`;
}

function where(query: DiscoveredQuery): string {
  return query.variant === undefined ? describeShape(query.shape) : `${describeShape(query.shape)} ${query.variant}`;
}

function asJson(index: CompositeIndex): string {
  return JSON.stringify({ collectionGroup: index.collectionGroup, queryScope: index.queryScope, fields: index.fields });
}

/**
 * The single-field indexes a shape relies on that a field override switches off. Collection-group queries
 * rely on collection-group single-field indexes, which exist only where an override enables them.
 */
function exemptedFields(shape: QueryShape, fields: readonly IndexField[], definition: FirestoreDefinition): string[] {
  const problems: string[] = [];
  for (const field of fields) {
    const override = definition.fieldOverrides.find((entry) => entry.collectionGroup === shape.collection && entry.fieldPath === field.fieldPath);
    const enabled = (entry: { order?: string | undefined; arrayConfig?: string | undefined; queryScope?: string | undefined }): boolean =>
      (entry.queryScope ?? 'COLLECTION') === shape.scope &&
      ('arrayConfig' in field ? entry.arrayConfig === 'CONTAINS' : entry.order !== undefined);
    if (shape.scope === 'COLLECTION' && (override?.indexes === undefined || override.indexes.some(enabled))) continue;
    if (shape.scope === 'COLLECTION_GROUP' && override?.indexes?.some(enabled)) continue;
    problems.push(
      shape.scope === 'COLLECTION'
        ? `${shape.collection}.${field.fieldPath}: its single-field index is switched off by a field override`
        : `${shape.collection}.${field.fieldPath}: collection-group queries need a field override enabling its collection-group index`,
    );
  }
  return problems;
}

export function compareWithDefinition(discovery: QueryDiscovery, definition: FirestoreDefinition, definitionPath: string): IndexCheck {
  const findings: IndexFinding[] = discovery.problems.map((problem) => ({ kind: 'unanalyzable', site: problem.site, message: problem.message }));
  const required: CompositeIndex[] = [];
  const used = new Set<number>();
  for (const query of discovery.queries) {
    const { need, problems } = analyzeIndexNeed(query.shape);
    for (const problem of problems) findings.push({ kind: 'invalid-query', site: query.executedAt, message: `${where(query)} ${problem}` });
    if (need.kind === 'single-field') {
      for (const problem of exemptedFields(query.shape, need.fields, definition)) {
        findings.push({ kind: 'exempted-field', site: query.executedAt, message: `${where(query)} needs ${problem}` });
      }
      continue;
    }
    if (!required.some((index) => asJson(index) === asJson(need.index))) required.push(need.index);
    const exact = definition.indexes.findIndex((declared) => indexServes(declared, need.index));
    const serving = exact === -1 ? mergedIndexesServing(definition.indexes, need.index, query.shape) : [exact];
    if (serving === undefined) {
      findings.push({
        kind: 'missing-index',
        site: query.executedAt,
        message: `${where(query)} needs the composite index ${describeIndex(need.index)}, which ${definitionPath} does not declare; add ${asJson(need.index)}`,
      });
    } else {
      for (const position of serving) used.add(position);
    }
  }
  definition.indexes.forEach((declared, position) => {
    if (used.has(position)) return;
    findings.push({
      kind: 'unused-index',
      site: { file: definitionPath, line: 1 },
      message: `indexes[${position}] ${describeIndex(declared)} serves no query in the code; remove it (or the query that needed it is no longer analyzable)`,
    });
  });
  return { discovery, requiredIndexes: required, findings };
}

export function checkFirestoreIndexes(options: IndexCheckOptions): IndexCheck {
  const definition =
    options.definition ?? firestoreDefinitionSchema.parse(JSON.parse(readFileSync(join(options.repositoryRoot, options.definitionPath), 'utf8')));
  const discovery = discoverQueries({ repositoryRoot: options.repositoryRoot, folders: options.folders });
  return compareWithDefinition(discovery, definition, options.definitionPath);
}
