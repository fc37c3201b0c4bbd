// Compares the indexes the declared queries (shared/store/query-registry.ts) need with firestore.indexes.json:
// missing, unused and unusable indexes.
import { readFileSync } from 'node:fs';
import type { DeclaredQuery, QueryShape } from '../../shared/store/query-shape.js';
import { firestoreDefinitionSchema } from '../terraform-check/check-firestore-definition.js';
import type { CompositeIndex, IndexField } from './index-rules.js';
import { analyzeIndexNeed, describeIndex, describeShape, indexServes, mergedIndexesServing } from './index-rules.js';

export type FirestoreDefinition = ReturnType<typeof firestoreDefinitionSchema.parse>;

/** What the check reads of a declared query: its name and the shapes it runs in. */
export type QueryIndexShapes = Pick<DeclaredQuery, 'declaration' | 'shapes'>;

export const indexFindingKinds = ['duplicate-name', 'invalid-query', 'missing-index', 'unused-index', 'exempted-field'] as const;
export type IndexFindingKind = (typeof indexFindingKinds)[number];

export interface IndexFinding {
  readonly kind: IndexFindingKind;
  /** The declared query's name, or the definition file for an unused index. */
  readonly subject: string;
  readonly message: string;
}

export interface IndexCheck {
  /** How many shapes the queries run in, all told. */
  readonly shapeCount: number;
  /** The distinct composite indexes the queries need. */
  readonly requiredIndexes: readonly CompositeIndex[];
  readonly findings: readonly IndexFinding[];
}

export function formatIndexFinding(finding: IndexFinding): string {
  return `${finding.subject}: [${finding.kind}] ${finding.message}`;
}

export function readFirestoreDefinition(path: string): FirestoreDefinition {
  return firestoreDefinitionSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
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

export function checkIndexes(queries: readonly QueryIndexShapes[], definition: FirestoreDefinition, definitionPath: string): IndexCheck {
  const findings: IndexFinding[] = [];
  const required: CompositeIndex[] = [];
  const used = new Set<number>();
  const names = queries.map((query) => query.declaration.name);
  for (const name of new Set(names.filter((each, position) => names.indexOf(each) !== position))) {
    findings.push({ kind: 'duplicate-name', subject: name, message: 'several declared queries share this name; findings could not say which one is meant' });
  }
  for (const { declaration, shapes } of queries) {
    const subject = declaration.name;
    for (const shape of shapes) {
      const { need, problems } = analyzeIndexNeed(shape);
      for (const problem of problems) findings.push({ kind: 'invalid-query', subject, message: `${describeShape(shape)} ${problem}` });
      if (need.kind === 'single-field') {
        for (const problem of exemptedFields(shape, need.fields, definition)) {
          findings.push({ kind: 'exempted-field', subject, message: `${describeShape(shape)} needs ${problem}` });
        }
        continue;
      }
      if (!required.some((index) => asJson(index) === asJson(need.index))) required.push(need.index);
      const exact = definition.indexes.findIndex((declared) => indexServes(declared, need.index));
      const serving = exact === -1 ? mergedIndexesServing(definition.indexes, need.index, shape) : [exact];
      if (serving === undefined) {
        findings.push({
          kind: 'missing-index',
          subject,
          message: `${describeShape(shape)} needs the composite index ${describeIndex(need.index)}, which ${definitionPath} does not declare; add ${asJson(need.index)}`,
        });
      } else {
        for (const position of serving) used.add(position);
      }
    }
  }
  definition.indexes.forEach((declared, position) => {
    if (used.has(position)) return;
    findings.push({
      kind: 'unused-index',
      subject: definitionPath,
      message: `indexes[${position}] ${describeIndex(declared)} serves no declared query; remove it (or declare the query that needs it in shared/store/query-registry.ts)`,
    });
  });
  return { shapeCount: queries.reduce((sum, query) => sum + query.shapes.length, 0), requiredIndexes: required, findings };
}
