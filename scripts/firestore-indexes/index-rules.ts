// Firestore's index rules: which index a query shape needs, as Firestore (Standard edition) would ask for it.
//
// Sources: https://firebase.google.com/docs/firestore/query-data/index-overview (single-field indexes serve
// equality-only queries by index merging, and a range or orderBy on one field; equality plus a range or an
// orderBy on another field, several orderBys, or array-contains combined with anything needs a composite
// index; the direction of an equality field does not matter, an orderBy's direction does; single-field
// indexes with collection-group scope are not maintained by default), and
// https://firebase.google.com/docs/firestore/query-data/multiple-range-fields (range and inequality
// filters on several fields; inequality fields not ordered explicitly are ordered implicitly, in
// lexicographic order, after the explicit orderBys — the Node client does the same in createImplicitOrderBy).
//
// Deliberately conservative where the documentation is vague: array-contains combined with an equality
// filter is given a composite index rather than relying on index merging, and each query is given its own
// exact index rather than relying on merging several composites. An extra index costs storage; a missing
// one is a FAILED_PRECONDITION in production.

import type { Direction, QueryOrder, QueryScope, QueryShape, WhereOperator } from '../../shared/store/query-shape.js';
import { documentNameField } from '../../shared/store/query-shape.js';

/** A field of a composite index as firestore.indexes.json writes it. */
export type IndexField =
  | { readonly fieldPath: string; readonly order: 'ASCENDING' | 'DESCENDING' }
  | { readonly fieldPath: string; readonly arrayConfig: 'CONTAINS' };

/** A field as firestore.indexes.json may declare it (its schema checks that exactly one mode is set). */
export interface DeclaredIndexField {
  readonly fieldPath: string;
  readonly order?: 'ASCENDING' | 'DESCENDING' | undefined;
  readonly arrayConfig?: 'CONTAINS' | undefined;
}

export interface DeclaredIndex {
  readonly collectionGroup: string;
  readonly queryScope?: QueryScope | undefined;
  readonly fields: readonly DeclaredIndexField[];
}

export interface CompositeIndex {
  readonly collectionGroup: string;
  readonly queryScope: QueryScope;
  /**
   * The leading fields whose order within the index does not matter (equality and array-contains
   * filters); the rest must follow in exactly this order and direction.
   */
  readonly unorderedPrefix: number;
  readonly fields: readonly IndexField[];
}

export type IndexNeed =
  | { readonly kind: 'single-field'; readonly fields: readonly IndexField[] }
  | { readonly kind: 'composite'; readonly index: CompositeIndex };

export interface IndexAnalysis {
  readonly need: IndexNeed;
  /** Shapes Firestore rejects whatever the indexes: reported as mistakes in the code. */
  readonly problems: readonly string[];
}

const equalityOperators: readonly WhereOperator[] = ['==', 'in'];
const arrayOperators: readonly WhereOperator[] = ['array-contains', 'array-contains-any'];
const inequalityOperators: readonly WhereOperator[] = ['<', '<=', '>', '>=', '!=', 'not-in'];

export function isInequality(operator: WhereOperator): boolean {
  return inequalityOperators.includes(operator);
}

function orderOf(direction: Direction): 'ASCENDING' | 'DESCENDING' {
  return direction === 'asc' ? 'ASCENDING' : 'DESCENDING';
}

/** The orderings the backend runs: explicit ones (reversed by limitToLast), then implicit inequality fields. */
export function effectiveOrders(shape: QueryShape): QueryOrder[] {
  const flip = (direction: Direction): Direction => (shape.limitToLast ? (direction === 'asc' ? 'desc' : 'asc') : direction);
  const orders: QueryOrder[] = [];
  for (const order of shape.orders) {
    if (!orders.some((existing) => existing.field === order.field)) orders.push({ field: order.field, direction: flip(order.direction) });
  }
  const lastDirection = orders.at(-1)?.direction ?? 'asc';
  const inequalityFields = [...new Set(shape.filters.filter((filter) => isInequality(filter.operator)).map((filter) => filter.field))].sort();
  for (const field of inequalityFields) {
    if (!orders.some((existing) => existing.field === field)) orders.push({ field, direction: lastDirection });
  }
  // Every index ends with the document name in the direction of its last field: ordering by it there is implied.
  const last = orders.at(-1);
  if (last?.field === documentNameField && (orders.length === 1 || orders.at(-2)?.direction === last.direction)) orders.pop();
  return orders;
}

export function analyzeIndexNeed(shape: QueryShape): IndexAnalysis {
  const problems: string[] = [];
  const equalityFields = [...new Set(shape.filters.filter((f) => equalityOperators.includes(f.operator)).map((f) => f.field))].sort();
  const arrayFilters = shape.filters.filter((f) => arrayOperators.includes(f.operator));
  const orders = effectiveOrders(shape);

  if (arrayFilters.length > 1) problems.push('uses more than one array-contains / array-contains-any filter; Firestore allows one');
  const notIn = shape.filters.filter((f) => f.operator === 'not-in');
  if (notIn.length > 1 || (notIn.length === 1 && shape.filters.some((f) => f.operator === '!='))) {
    problems.push("combines not-in with another not-in or '!='; Firestore rejects it");
  }
  for (const order of shape.orders) {
    if (equalityFields.includes(order.field)) {
      problems.push(`orders by ${order.field}, which it also filters by equality; drop that orderBy (it cannot change the order)`);
    }
  }
  if (shape.limitToLast && shape.orders.length === 0) problems.push('uses limitToLast without an orderBy');

  const orderFields: IndexField[] = orders.map((order) => ({ fieldPath: order.field, order: orderOf(order.direction) }));
  const arrayFields: IndexField[] = [...new Set(arrayFilters.map((f) => f.field))].map((fieldPath) => ({ fieldPath, arrayConfig: 'CONTAINS' }));
  const equalityIndexFields: IndexField[] = equalityFields.map((fieldPath) => ({ fieldPath, order: 'ASCENDING' }));

  // Served by single-field indexes: equality filters alone (merged), one array-contains alone, or one
  // field ranged and/or ordered with nothing else.
  const singleField =
    (arrayFields.length === 0 && orders.length === 0) ||
    (arrayFields.length === 1 && equalityFields.length === 0 && orders.length === 0) ||
    (arrayFields.length === 0 && equalityFields.length === 0 && orders.length === 1);
  if (singleField) return { need: { kind: 'single-field', fields: [...equalityIndexFields, ...arrayFields, ...orderFields] }, problems };

  const prefix = [...equalityIndexFields, ...arrayFields];
  return {
    need: {
      kind: 'composite',
      index: {
        collectionGroup: shape.collection,
        queryScope: shape.scope,
        unorderedPrefix: prefix.length,
        fields: [...prefix, ...orderFields],
      },
    },
    problems,
  };
}

function fieldKey(field: DeclaredIndexField): string {
  return field.arrayConfig !== undefined ? `${field.fieldPath}:CONTAINS` : `${field.fieldPath}:${field.order}`;
}

/** An equality field is served by either direction; only its presence in the prefix matters. */
function prefixKey(field: DeclaredIndexField): string {
  return field.arrayConfig !== undefined ? `${field.fieldPath}:CONTAINS` : `${field.fieldPath}:ORDERED`;
}

/** Firestore appends __name__ (in the last field's direction) to every composite index; declaring it changes nothing. */
export function withoutDocumentName(fields: readonly DeclaredIndexField[]): readonly DeclaredIndexField[] {
  const last = fields.at(-1);
  const before = fields.at(-2);
  if (last === undefined || last.fieldPath !== documentNameField || last.order === undefined) return fields;
  const impliedOrder = before?.order ?? 'ASCENDING';
  return last.order === impliedOrder ? fields.slice(0, -1) : fields;
}

/**
 * Index merging: a query with only `==` filters and orderBys can be served by several composite indexes
 * that each start with some of its equality fields and end with exactly its orderBys (index-overview,
 * "Index merging"). Returns the positions of the declared indexes that together serve it, or undefined.
 */
export function mergedIndexesServing(
  declared: readonly DeclaredIndex[],
  needed: CompositeIndex,
  shape: QueryShape,
): number[] | undefined {
  if (!shape.filters.every((filter) => filter.operator === '==') || needed.unorderedPrefix < 2) return undefined;
  const equalityFields = new Set(needed.fields.slice(0, needed.unorderedPrefix).map((field) => field.fieldPath));
  const suffix = needed.fields.slice(needed.unorderedPrefix).map(fieldKey);
  const covered = new Set<string>();
  const serving: number[] = [];
  declared.forEach((index, position) => {
    if (index.collectionGroup !== needed.collectionGroup || (index.queryScope ?? 'COLLECTION') !== needed.queryScope) return;
    const fields = withoutDocumentName(index.fields);
    const head = fields.slice(0, fields.length - suffix.length);
    const tail = fields.slice(fields.length - suffix.length).map(fieldKey);
    if (head.length === 0 || tail.join('|') !== suffix.join('|')) return;
    if (!head.every((field) => field.order !== undefined && equalityFields.has(field.fieldPath))) return;
    for (const field of head) covered.add(field.fieldPath);
    serving.push(position);
  });
  return covered.size === equalityFields.size ? serving : undefined;
}

/** Whether a declared index (as in firestore.indexes.json) is exactly the one `needed` asks for. */
export function indexServes(declared: DeclaredIndex, needed: CompositeIndex): boolean {
  if (declared.collectionGroup !== needed.collectionGroup) return false;
  if ((declared.queryScope ?? 'COLLECTION') !== needed.queryScope) return false;
  const fields = withoutDocumentName(declared.fields);
  if (fields.length !== needed.fields.length) return false;
  const split = needed.unorderedPrefix;
  const declaredPrefix = fields.slice(0, split).map(prefixKey).sort();
  const neededPrefix = needed.fields.slice(0, split).map(prefixKey).sort();
  if (declaredPrefix.join('|') !== neededPrefix.join('|')) return false;
  return fields.slice(split).every((field, position) => fieldKey(field) === fieldKey(needed.fields[split + position] as DeclaredIndexField));
}

export function describeShape(shape: QueryShape): string {
  const parts = [
    ...shape.filters.map((filter) => `where ${filter.field} ${filter.operator}`),
    ...shape.orders.map((order) => `orderBy ${order.field} ${order.direction}`),
    ...(shape.limitToLast ? ['limitToLast'] : []),
  ];
  const target = shape.scope === 'COLLECTION_GROUP' ? `collection group ${shape.collection}` : shape.collection;
  return parts.length === 0 ? target : `${target} (${parts.join(', ')})`;
}

export function describeIndex(index: DeclaredIndex): string {
  const fields = index.fields.map((field) => (field.arrayConfig !== undefined ? `${field.fieldPath} CONTAINS` : `${field.fieldPath} ${field.order}`));
  const scope = (index.queryScope ?? 'COLLECTION') === 'COLLECTION' ? '' : ' (collection group)';
  return `${index.collectionGroup}${scope} [${fields.join(', ')}]`;
}
