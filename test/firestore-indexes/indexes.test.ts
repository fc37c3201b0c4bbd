// Every composite index a declared query (shared/store/query-registry.ts) needs is in firestore.indexes.json, and
// nothing else is; each declared query runs on the emulator in every form it takes; the check catches a missing index,
// an unused one and a switched-off single-field index, naming the query.
import type { Firestore, Query } from '@google-cloud/firestore';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FirestoreDefinition, IndexCheck } from '../../scripts/firestore-indexes/check-indexes.js';
import { checkIndexes, formatIndexFinding, readFirestoreDefinition } from '../../scripts/firestore-indexes/check-indexes.js';
import { analyzeIndexNeed, describeShape } from '../../scripts/firestore-indexes/index-rules.js';
import { declaredQueries } from '../../shared/store/query-registry.js';
import type { DeclaredQuery, QueryShape } from '../../shared/store/query-shape.js';
import { declareQuery, documentNameField, filterCombinations } from '../../shared/store/query-shape.js';
import { useFirestoreTestProject } from '../support/firestore-test-project.js';
import { widgetQueries } from './fixtures/widget-queries.js';

const definitionPath = 'firestore.indexes.json';
const repositoryDefinition = readFirestoreDefinition(new URL('../../firestore.indexes.json', import.meta.url).pathname);
const project = useFirestoreTestProject('firestore-indexes');

function definitionOf(indexes: FirestoreDefinition['indexes'], fieldOverrides: FirestoreDefinition['fieldOverrides'] = []): FirestoreDefinition {
  return { indexes, fieldOverrides };
}

function composite(collectionGroup: string, ...fields: [string, 'ASCENDING' | 'DESCENDING'][]): FirestoreDefinition['indexes'][number] {
  return { collectionGroup, queryScope: 'COLLECTION', fields: fields.map(([fieldPath, order]) => ({ fieldPath, order })) };
}

function sampleValue(operator: string): unknown {
  return ['in', 'not-in', 'array-contains-any'].includes(operator) ? ['sample'] : 'sample';
}

/** The query built once per combination of its optional filters, with placeholder values (they change nothing about validity). */
function everyFormOf(firestore: Firestore, query: DeclaredQuery): Query[] {
  const { anyOf = [] } = query.declaration;
  return filterCombinations(query.declaration).map((filters) =>
    query.build(firestore, Object.fromEntries([...filters, ...anyOf].map(({ field, operator }) => [field, sampleValue(operator)]))),
  );
}

const findingsOf = (queries: readonly DeclaredQuery[], definition: FirestoreDefinition): string[] =>
  checkIndexes(queries, definition, definitionPath).findings.map(formatIndexFinding);

describe('the repository', () => {
  let check: IndexCheck;
  beforeAll(() => {
    check = checkIndexes(declaredQueries, repositoryDefinition, definitionPath);
  });

  it('declares exactly the composite indexes its queries need', () => {
    expect(check.findings.map(formatIndexFinding)).toEqual([]);
    // The check must be reading the declared queries: these shapes are known to exist.
    const shapes = declaredQueries.flatMap((query) => query.shapes.map(describeShape));
    expect(shapes).toContain('auditLog (where connectionId ==, orderBy atMs desc)');
    expect(shapes).toContain('connections (where tenantId ==, where userId ==, where provider ==)');
    expect(shapes).toContain('connections (where tenantId ==, where userId ==)');
    expect(shapes).toContain('collection group connections (where changedAt >)');
    expect(check.requiredIndexes.length).toBeGreaterThan(0);
  });

  it('misses each of its indexes when it is removed, and flags an index no query needs', () => {
    repositoryDefinition.indexes.forEach((removed, position) => {
      const without = definitionOf(
        repositoryDefinition.indexes.filter((_, other) => other !== position),
        repositoryDefinition.fieldOverrides,
      );
      const findings = checkIndexes(declaredQueries, without, definitionPath).findings;
      expect(findings.length, `without indexes[${position}] ${JSON.stringify(removed)}`).toBeGreaterThan(0);
      expect(findings.map((finding) => finding.kind)).toEqual(findings.map(() => 'missing-index'));
    });
    const extra = composite('connections', ['provider', 'ASCENDING'], ['updatedAtMs', 'DESCENDING']);
    expect(findingsOf(declaredQueries, definitionOf([...repositoryDefinition.indexes, extra], repositoryDefinition.fieldOverrides))).toEqual([
      `${definitionPath}: [unused-index] indexes[${repositoryDefinition.indexes.length}] connections [provider ASCENDING, updatedAtMs DESCENDING] serves no declared query; remove it (or declare the query that needs it in shared/store/query-registry.ts)`,
    ]);
  });

  it('needs the collection-group overrides its listener relies on', () => {
    const withoutBeatOf = definitionOf(
      repositoryDefinition.indexes,
      repositoryDefinition.fieldOverrides.filter((override) => override.fieldPath !== 'beatOf'),
    );
    expect(findingsOf(declaredQueries, withoutBeatOf)).toEqual([
      'changedConnectionsAndOwnBeat: [exempted-field] collection group connections (where beatOf ==) needs connections.beatOf: collection-group queries need a field override enabling its collection-group index',
    ]);
  });

  it('runs every declared query, in every form it takes, once against the emulator', async () => {
    const names = declaredQueries.map((query) => query.declaration.name);
    expect(new Set(names).size).toBe(names.length);
    for (const query of declaredQueries) {
      for (const form of everyFormOf(project.firestore, query)) {
        await expect(form.limit(1).get(), query.declaration.name).resolves.toHaveProperty('empty', true);
      }
    }
  });

  it('would notice a shape Firestore rejects: the rules flag it and the emulator refuses it', async () => {
    const rejected = declareQuery({
      name: 'rejected',
      collection: 'connections',
      filters: [
        { field: 'status', operator: 'not-in' },
        { field: 'provider', operator: 'not-in' },
      ],
    });
    expect(findingsOf([rejected], repositoryDefinition)).toContain(
      "rejected: [invalid-query] connections (where status not-in, where provider not-in) combines not-in with another not-in or '!='; Firestore rejects it",
    );
    await expect(async () => rejected.build(project.firestore, { status: ['a'], provider: ['b'] }).get()).rejects.toThrow();
  });
});

describe('what the check finds in declared queries', () => {
  it('runs each fixture query on the emulator, so the fixtures are real queries', async () => {
    for (const query of widgetQueries) {
      for (const form of everyFormOf(project.firestore, query)) await expect(form.limit(1).get(), query.declaration.name).resolves.toBeDefined();
    }
  });

  it('fails a query whose index is missing, naming the query and the index to add', () => {
    const findings = findingsOf(widgetQueries, definitionOf([]));
    expect(findings).toContain(
      'recentWidgetsOfOwner: [missing-index] widgets (where ownerId ==, orderBy createdAtMs desc) needs the composite index ' +
        'widgets [ownerId ASCENDING, createdAtMs DESCENDING], which firestore.indexes.json does not declare; add ' +
        '{"collectionGroup":"widgets","queryScope":"COLLECTION","fields":[{"fieldPath":"ownerId","order":"ASCENDING"},{"fieldPath":"createdAtMs","order":"DESCENDING"}]}',
    );
    // Inequality on one field, equality on another: composite, with the range field last.
    expect(findings).toContainEqual(
      expect.stringContaining('bigWidgetsOfColor: [missing-index] widgets (where color ==, where sizeCm >) needs the composite index widgets [color ASCENDING, sizeCm ASCENDING]'),
    );
    // Each combination of an optional filter is checked on its own: two per query.
    expect(findings.filter((line) => line.startsWith('shelfWidgetsNewestFirst: [missing-index]'))).toHaveLength(2);
    expect(findings.filter((line) => line.startsWith('shelfWidgetsBySize: [missing-index]'))).toHaveLength(2);
    // A collection-group query has no single-field index unless an override enables it.
    expect(findings).toContain(
      'taggedParts: [exempted-field] collection group parts (where tags array-contains) needs parts.tags: collection-group queries need a field override enabling its collection-group index',
    );
    // Each OR disjunct alone is an equality on one field: single-field indexes serve them.
    expect(findings.filter((line) => line.startsWith('widgetsOfOwnerOrColor:'))).toEqual([]);
  });

  it('passes when each index is declared (in any equality order, with or without __name__), merges equality indexes, and fails an unused one', () => {
    const definition = definitionOf(
      [
        composite('widgets', ['ownerId', 'ASCENDING'], ['createdAtMs', 'DESCENDING']),
        composite('widgets', ['color', 'DESCENDING'], ['sizeCm', 'ASCENDING'], ['__name__', 'ASCENDING']),
        // Two composites sharing the orderBy serve shelf == and color == together (index merging).
        composite('widgets', ['shelf', 'ASCENDING'], ['createdAtMs', 'DESCENDING']),
        composite('widgets', ['color', 'ASCENDING'], ['createdAtMs', 'DESCENDING']),
        composite('widgets', ['shelf', 'ASCENDING'], ['sizeCm', 'ASCENDING']),
        composite('widgets', ['color', 'ASCENDING'], ['shelf', 'ASCENDING'], ['sizeCm', 'ASCENDING']),
        composite('widgets', ['ownerId', 'ASCENDING'], ['name', 'ASCENDING']),
        composite('widgets', ['ownerId', 'ASCENDING'], ['name', 'DESCENDING']),
      ],
      [{ collectionGroup: 'parts', fieldPath: 'tags', indexes: [{ arrayConfig: 'CONTAINS', queryScope: 'COLLECTION_GROUP' }] }],
    );
    expect(findingsOf(widgetQueries, definition)).toEqual([
      'firestore.indexes.json: [unused-index] indexes[7] widgets [ownerId ASCENDING, name DESCENDING] serves no declared query; remove it (or declare the query that needs it in shared/store/query-registry.ts)',
    ]);
  });

  it('fails a query on a field whose single-field index an override switches off', () => {
    const ownerIdUnindexed = definitionOf([], [{ collectionGroup: 'widgets', fieldPath: 'ownerId', ttl: true, indexes: [] }]);
    const byOwner = declareQuery({ name: 'widgetsOfOwner', collection: 'widgets', filters: [{ field: 'ownerId', operator: '==' }] });
    expect(findingsOf([byOwner], ownerIdUnindexed)).toEqual([
      'widgetsOfOwner: [exempted-field] widgets (where ownerId ==) needs widgets.ownerId: its single-field index is switched off by a field override',
    ]);
  });

  it('reports two queries declared under one name', () => {
    const byOwner = declareQuery({ name: 'widgetsOfOwner', collection: 'widgets', filters: [{ field: 'ownerId', operator: '==' }] });
    expect(findingsOf([byOwner, byOwner], definitionOf([]))).toEqual([
      'widgetsOfOwner: [duplicate-name] several declared queries share this name; findings could not say which one is meant',
    ]);
  });
});

describe("Firestore's index rules", () => {
  const shape = (filters: QueryShape['filters'], orders: QueryShape['orders'] = [], scope: QueryShape['scope'] = 'COLLECTION'): QueryShape => ({
    collection: 'cities',
    scope,
    filters,
    orders,
    limitToLast: false,
  });
  const kind = (query: QueryShape): string => analyzeIndexNeed(query).need.kind;

  it('serves equality-only queries, one array-contains, and one ranged or ordered field from single-field indexes', () => {
    expect(kind(shape([{ field: 'state', operator: '==' }, { field: 'country', operator: '==' }]))).toBe('single-field');
    expect(kind(shape([{ field: 'state', operator: 'in' }, { field: 'capital', operator: '==' }]))).toBe('single-field');
    expect(kind(shape([{ field: 'regions', operator: 'array-contains' }]))).toBe('single-field');
    expect(kind(shape([{ field: 'population', operator: '>' }], [{ field: 'population', direction: 'desc' }]))).toBe('single-field');
    expect(kind(shape([], [{ field: 'name', direction: 'asc' }, { field: documentNameField, direction: 'asc' }]))).toBe('single-field');
  });

  it('needs a composite for equality with a range or another orderBy, several orderBys, ranges on two fields, or array-contains with more', () => {
    const fields = (query: QueryShape): string[] => {
      const { need } = analyzeIndexNeed(query);
      return need.kind === 'composite' ? need.index.fields.map((field) => ('order' in field ? `${field.fieldPath} ${field.order}` : `${field.fieldPath} CONTAINS`)) : [];
    };
    expect(fields(shape([{ field: 'country', operator: '==' }], [{ field: 'population', direction: 'asc' }]))).toEqual(['country ASCENDING', 'population ASCENDING']);
    expect(fields(shape([{ field: 'country', operator: '==' }, { field: 'population', operator: '<' }]))).toEqual(['country ASCENDING', 'population ASCENDING']);
    expect(fields(shape([], [{ field: 'country', direction: 'asc' }, { field: 'population', direction: 'desc' }]))).toEqual(['country ASCENDING', 'population DESCENDING']);
    // Unordered inequality fields follow the explicit orderBys, lexicographically, in the last direction.
    expect(fields(shape([{ field: 'population', operator: '>' }, { field: 'density', operator: '<' }], [{ field: 'name', direction: 'desc' }]))).toEqual([
      'name DESCENDING',
      'density DESCENDING',
      'population DESCENDING',
    ]);
    expect(fields(shape([{ field: 'regions', operator: 'array-contains' }, { field: 'population', operator: '<' }]))).toEqual(['regions CONTAINS', 'population ASCENDING']);
    expect(fields(shape([{ field: 'regions', operator: 'array-contains' }, { field: 'capital', operator: '==' }]))).toEqual(['capital ASCENDING', 'regions CONTAINS']);
  });

  it('reverses orders for limitToLast and reports shapes Firestore rejects', () => {
    const reversed = analyzeIndexNeed({ ...shape([{ field: 'country', operator: '==' }], [{ field: 'population', direction: 'asc' }]), limitToLast: true });
    expect(reversed.need.kind === 'composite' && reversed.need.index.fields.at(-1)).toEqual({ fieldPath: 'population', order: 'DESCENDING' });
    expect(analyzeIndexNeed(shape([{ field: 'country', operator: '==' }], [{ field: 'country', direction: 'asc' }])).problems).toEqual([
      'orders by country, which it also filters by equality; drop that orderBy (it cannot change the order)',
    ]);
    expect(analyzeIndexNeed(shape([{ field: 'a', operator: 'array-contains' }, { field: 'b', operator: 'array-contains-any' }])).problems).toEqual([
      'uses more than one array-contains / array-contains-any filter; Firestore allows one',
    ]);
  });
});
