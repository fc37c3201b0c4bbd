// A declared query runs exactly the shapes it declares: optional filters apply only when given, OR disjuncts match
// either side, document-name orders page by id; mistakes in a declaration fail when it is made, a missing value at build.
import { describe, expect, it } from 'vitest';
import { declareQuery, documentNameField, type QueryDeclaration } from '../../../shared/store/query-shape.js';
import { useFirestoreTestProject } from '../../support/firestore-test-project.js';
import { widgetsOfOwnerOrColor } from '../../firestore-indexes/fixtures/widget-queries.js';

const project = useFirestoreTestProject('query-shape');

const widgetsOnShelf = declareQuery({
  name: 'widgetsOnShelf',
  collection: 'widgets',
  filters: [
    { field: 'shelf', operator: '==' },
    { field: 'color', operator: '==', optional: true },
  ],
  orders: [
    { field: 'sizeCm', direction: 'desc' },
    { field: documentNameField, direction: 'asc' },
  ],
});

async function storeWidgets(): Promise<void> {
  const widgets = project.firestore.collection('widgets');
  await Promise.all([
    widgets.doc('a').set({ shelf: 1, color: 'red', sizeCm: 3, ownerId: 'ann' }),
    widgets.doc('b').set({ shelf: 1, color: 'blue', sizeCm: 5, ownerId: 'bob' }),
    widgets.doc('c').set({ shelf: 1, color: 'red', sizeCm: 5, ownerId: 'cy' }),
    widgets.doc('d').set({ shelf: 2, color: 'red', sizeCm: 9, ownerId: 'bob' }),
  ]);
}

const idsOf = async (query: { get(): Promise<{ docs: { id: string }[] }> }): Promise<string[]> => (await query.get()).docs.map((doc) => doc.id);

describe('a declared query', () => {
  it('declares one shape per combination of optional filters and per OR disjunct', () => {
    expect(widgetsOnShelf.shapes.map((shape) => shape.filters.map((filter) => filter.field))).toEqual([['shelf', 'color'], ['shelf']]);
    expect(widgetsOfOwnerOrColor.shapes.map((shape) => shape.filters)).toEqual([[{ field: 'ownerId', operator: '==' }], [{ field: 'color', operator: '==' }]]);
  });

  it('builds the query it declares: an optional filter only when given, in the declared order, ties by document id', async () => {
    await storeWidgets();
    expect(await idsOf(widgetsOnShelf.build(project.firestore, { shelf: 1 }))).toEqual(['b', 'c', 'a']);
    expect(await idsOf(widgetsOnShelf.build(project.firestore, { shelf: 1, color: 'red' }))).toEqual(['c', 'a']);
    expect(await idsOf(widgetsOnShelf.build(project.firestore, { shelf: 1, color: undefined }).limit(1))).toEqual(['b']);
    expect((await idsOf(widgetsOfOwnerOrColor.build(project.firestore, { ownerId: 'bob', color: 'red' }))).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect((await idsOf(widgetsOfOwnerOrColor.build(project.firestore, { ownerId: 'bob', color: 'green' }))).sort()).toEqual(['b', 'd']);
  });

  it('refuses a missing required value rather than querying for undefined', () => {
    // @ts-expect-error -- the compiler asks for shelf too; this is what a caller bypassing it gets.
    expect(() => widgetsOnShelf.build(project.firestore, { color: 'red' })).toThrow(new TypeError('Query widgetsOnShelf needs a value for shelf'));
  });

  it('refuses a declaration that filters a field twice, an OR of one filter, or an unknown operator', () => {
    const declare = (declaration: QueryDeclaration) => () => declareQuery(declaration);
    expect(
      declare({
        name: 'twice',
        collection: 'widgets',
        filters: [
          { field: 'sizeCm', operator: '>' },
          { field: 'sizeCm', operator: '<' },
        ],
      }),
    ).toThrow(new TypeError('Query twice filters sizeCm twice; values are given by field'));
    expect(declare({ name: 'lonelyOr', collection: 'widgets', anyOf: [{ field: 'color', operator: '==' }] })).toThrow(
      new TypeError('Query lonelyOr: anyOf needs two or more filters'),
    );
    expect(declare({ name: 'like', collection: 'widgets', filters: [{ field: 'color', operator: 'like' as '==' }] })).toThrow(
      new TypeError("Query like uses the unknown operator 'like'"),
    );
  });
});
