// Every composite index a query in shared/ or functions/ needs is in firestore.indexes.json, and nothing else is;
// each query shape found runs on the emulator; the analyzer follows the forms code takes and refuses to guess.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FieldPath, type Firestore, type Query } from '@google-cloud/firestore';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FirestoreDefinition, IndexCheck } from '../../scripts/firestore-indexes/check-indexes.js';
import {
  checkFirestoreIndexes,
  compareWithDefinition,
  formatIndexFinding,
  repositoryQueryFolders,
} from '../../scripts/firestore-indexes/check-indexes.js';
import type { QueryDiscovery } from '../../scripts/firestore-indexes/discover-queries.js';
import { discoverQueries } from '../../scripts/firestore-indexes/discover-queries.js';
import type { QueryShape } from '../../scripts/firestore-indexes/index-rules.js';
import { analyzeIndexNeed, describeShape, documentNameField, shapeKey } from '../../scripts/firestore-indexes/index-rules.js';
import { useFirestoreTestProject } from '../support/firestore-test-project.js';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const analyzableFolder = 'test/firestore-indexes/fixtures/analyzable';
const unanalyzableFolder = 'test/firestore-indexes/fixtures/unanalyzable';
const fixtureFile = (folder: string): string => `${folder}/widget-queries.ts`;
const project = useFirestoreTestProject('firestore-indexes');

/** The line of a fixture carrying `// marker: <name>`, so the expectations survive edits above it. */
function markerLine(folder: string, name: string): number {
  const lines = readFileSync(new URL(`../../${fixtureFile(folder)}`, import.meta.url), 'utf8').split('\n');
  const line = lines.findIndex((text) => text.endsWith(`// marker: ${name}`)) + 1;
  if (line === 0) throw new Error(`No marker ${name} in ${folder}`);
  return line;
}

function definitionOf(indexes: FirestoreDefinition['indexes'], fieldOverrides: FirestoreDefinition['fieldOverrides'] = []): FirestoreDefinition {
  return { indexes, fieldOverrides };
}

function composite(collectionGroup: string, ...fields: [string, 'ASCENDING' | 'DESCENDING'][]): FirestoreDefinition['indexes'][number] {
  return { collectionGroup, queryScope: 'COLLECTION', fields: fields.map(([fieldPath, order]) => ({ fieldPath, order })) };
}

function sampleValue(operator: string): unknown {
  return ['in', 'not-in', 'array-contains-any'].includes(operator) ? ['sample'] : 'sample';
}

/** The shape as a real query: field values are placeholders, which change nothing about validity or indexes. */
function queryOf(firestore: Firestore, shape: QueryShape): Query {
  const path = (field: string): string | FieldPath => (field === documentNameField ? FieldPath.documentId() : field);
  let query: Query = shape.scope === 'COLLECTION' ? firestore.collection(shape.collection) : firestore.collectionGroup(shape.collection);
  for (const filter of shape.filters) query = query.where(path(filter.field), filter.operator, sampleValue(filter.operator));
  for (const order of shape.orders) query = query.orderBy(path(order.field), order.direction);
  return shape.limitToLast ? query.limitToLast(1) : query.limit(1);
}

describe('the repository', () => {
  let check: IndexCheck;
  beforeAll(() => {
    check = checkFirestoreIndexes({ repositoryRoot, folders: repositoryQueryFolders, definitionPath: 'firestore.indexes.json' });
  }, 120_000);

  it('declares exactly the composite indexes its queries need, and every query can be analyzed', () => {
    expect(check.findings.map(formatIndexFinding)).toEqual([]);
    // The analysis must be seeing the code, not an empty tree: these queries are known to exist.
    const shapes = check.discovery.queries.map((query) => describeShape(query.shape));
    expect(shapes).toContain('auditLog (where connectionId ==, orderBy atMs desc)');
    expect(shapes).toContain('connections (where tenantId ==, where userId ==, where provider ==)');
    expect(shapes).toContain('connections (where tenantId ==, where userId ==)');
    expect(check.requiredIndexes.length).toBeGreaterThan(0);
  });

  it('runs every query shape it found once against the emulator', async () => {
    const shapes = new Map(check.discovery.queries.map((query) => [shapeKey(query.shape), query] as const));
    expect(shapes.size).toBeGreaterThan(0);
    for (const query of shapes.values()) {
      const where = `${query.executedAt.file}:${query.executedAt.line} ${describeShape(query.shape)}`;
      await expect(queryOf(project.firestore, query.shape).get(), where).resolves.toHaveProperty('empty', true);
    }
  });

  it('would notice a shape Firestore rejects: the rules flag it and the emulator refuses it', async () => {
    const shape: QueryShape = {
      collection: 'connections',
      scope: 'COLLECTION',
      filters: [
        { field: 'status', operator: 'not-in' },
        { field: 'provider', operator: 'not-in' },
      ],
      orders: [],
      limitToLast: false,
    };
    expect(analyzeIndexNeed(shape).problems).toEqual(["combines not-in with another not-in or '!='; Firestore rejects it"]);
    await expect(async () => queryOf(project.firestore, shape).get()).rejects.toThrow();
  });
});

describe('what the analyzer finds in code', () => {
  let discovery: QueryDiscovery;
  beforeAll(() => {
    discovery = discoverQueries({ repositoryRoot, folders: [analyzableFolder] });
  }, 120_000);

  it('follows inline chains, helpers, const and let variables, if branches and query parameters', () => {
    const file = fixtureFile(analyzableFolder);
    const at = (name: string) => ({ file, line: markerLine(analyzableFolder, name) });
    expect(discovery.problems).toEqual([]);
    expect(discovery.queries.map((query) => ({ at: query.executedAt, shape: describeShape(query.shape), variant: query.variant }))).toEqual([
      { at: at('inline'), shape: 'widgets (where ownerId ==, orderBy createdAtMs desc)', variant: undefined },
      { at: at('helper'), shape: 'widgets (where color ==, where sizeCm >)', variant: undefined },
      {
        at: at('conditional'),
        shape: 'widgets (where shelf ==, where color ==, orderBy createdAtMs desc)',
        variant: 'if (filter.color !== undefined), if (filter.newestFirst)',
      },
      {
        at: at('conditional'),
        shape: 'widgets (where shelf ==, where color ==, orderBy sizeCm asc)',
        variant: 'if (filter.color !== undefined), unless (filter.newestFirst)',
      },
      {
        at: at('conditional'),
        shape: 'widgets (where shelf ==, orderBy createdAtMs desc)',
        variant: 'unless (filter.color !== undefined), if (filter.newestFirst)',
      },
      { at: at('conditional'), shape: 'widgets (where shelf ==, orderBy sizeCm asc)', variant: 'unless (filter.color !== undefined), unless (filter.newestFirst)' },
      // Paging in a loop (startAfter) changes no index: the shape comes from the caller's argument.
      { at: at('parameter'), shape: 'widgets (where ownerId ==, orderBy name asc, orderBy __name__ asc)', variant: undefined },
      { at: at('group'), shape: 'collection group parts (where tags array-contains)', variant: undefined },
    ]);
  });

  it('fails a query whose index is missing, naming its file and line and the index to add', () => {
    const findings = compareWithDefinition(discovery, definitionOf([]), 'firestore.indexes.json').findings.map(formatIndexFinding);
    const file = fixtureFile(analyzableFolder);
    expect(findings).toContain(
      `${file}:${markerLine(analyzableFolder, 'inline')}: [missing-index] widgets (where ownerId ==, orderBy createdAtMs desc) needs the composite index ` +
        'widgets [ownerId ASCENDING, createdAtMs DESCENDING], which firestore.indexes.json does not declare; add ' +
        '{"collectionGroup":"widgets","queryScope":"COLLECTION","fields":[{"fieldPath":"ownerId","order":"ASCENDING"},{"fieldPath":"createdAtMs","order":"DESCENDING"}]}',
    );
    // Inequality on one field, equality on another: composite, with the range field last.
    expect(findings).toContainEqual(expect.stringContaining(`${file}:${markerLine(analyzableFolder, 'helper')}: [missing-index] widgets (where color ==, where sizeCm >) needs the composite index widgets [color ASCENDING, sizeCm ASCENDING]`));
    // Each of the four branch combinations is checked on its own.
    expect(findings.filter((line) => line.startsWith(`${file}:${markerLine(analyzableFolder, 'conditional')}: [missing-index]`))).toHaveLength(4);
    // A collection-group query has no single-field index unless an override enables it.
    expect(findings).toContain(
      `${file}:${markerLine(analyzableFolder, 'group')}: [exempted-field] collection group parts (where tags array-contains) needs parts.tags: collection-group queries need a field override enabling its collection-group index`,
    );
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
    expect(compareWithDefinition(discovery, definition, 'firestore.indexes.json').findings.map(formatIndexFinding)).toEqual([
      'firestore.indexes.json:1: [unused-index] indexes[7] widgets [ownerId ASCENDING, name DESCENDING] serves no query in the code; remove it (or the query that needed it is no longer analyzable)',
    ]);
  });

  it('fails a query on a field whose single-field index an override switches off', () => {
    const ownerIdUnindexed = definitionOf([], [{ collectionGroup: 'widgets', fieldPath: 'ownerId', ttl: true, indexes: [] }]);
    const byOwner: QueryShape = { collection: 'widgets', scope: 'COLLECTION', filters: [{ field: 'ownerId', operator: '==' }], orders: [], limitToLast: false };
    const site = { file: 'shared/store/widgets.ts', line: 7 };
    const single: QueryDiscovery = { queries: [{ shape: byOwner, executedAt: site, builtAt: site, variant: undefined }], problems: [], filesAnalyzed: 1 };
    expect(compareWithDefinition(single, ownerIdUnindexed, 'firestore.indexes.json').findings.map(formatIndexFinding)).toEqual([
      'shared/store/widgets.ts:7: [exempted-field] widgets (where ownerId ==) needs widgets.ownerId: its single-field index is switched off by a field override',
    ]);
  });
});

describe('what the analyzer refuses to guess at', () => {
  it('reports computed fields, queries never run, refinements in a catch and in a loop, each at its line', () => {
    const { problems, queries } = discoverQueries({ repositoryRoot, folders: [unanalyzableFolder] });
    const file = fixtureFile(unanalyzableFolder);
    const line = (name: string): number => markerLine(unanalyzableFolder, name);
    expect(queries).toEqual([]);
    expect(problems.map((problem) => `${problem.site.file}:${problem.site.line}`)).toEqual([
      `${file}:${line('computed')}`,
      `${file}:${line('never-run')}`,
      `${file}:${line('catch')}`,
      `${file}:${line('loop')}`,
    ]);
    expect(problems.map((problem) => problem.message)).toEqual([
      expect.stringMatching(/^The where\(\) field `field` is not a string the compiler knows exactly/),
      expect.stringMatching(/^builds a query the analysis never sees run/),
      expect.stringMatching(/^the query is refined under a condition other than an if statement/),
      expect.stringMatching(/^the query `query` gains filters or orders inside a loop/),
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
