// Each Firestore query declared once as its index shape, which also builds it: the index check
// (scripts/firestore-indexes/) reads the shapes from query-registry.ts, and no query can run a shape it does not declare.
import { FieldPath, Filter, type Firestore, type Query } from '@google-cloud/firestore';

export const whereOperators = ['<', '<=', '==', '!=', '>=', '>', 'array-contains', 'in', 'not-in', 'array-contains-any'] as const;
export type WhereOperator = (typeof whereOperators)[number];

export type Direction = 'asc' | 'desc';
export type QueryScope = 'COLLECTION' | 'COLLECTION_GROUP';

/** FieldPath.documentId() as a field path, as firestore.indexes.json names it. */
export const documentNameField = '__name__';

export interface QueryFilter {
  readonly field: string;
  readonly operator: WhereOperator;
}

export interface QueryOrder {
  readonly field: string;
  readonly direction: Direction;
}

/** One form a query runs in, with everything that decides its index: no values, no limits, no cursors. */
export interface QueryShape {
  readonly collection: string;
  readonly scope: QueryScope;
  readonly filters: readonly QueryFilter[];
  readonly orders: readonly QueryOrder[];
  /** limitToLast runs the query with every orderBy reversed (the index rules know it; no declared query uses it yet). */
  readonly limitToLast: boolean;
}

export interface FilterDeclaration extends QueryFilter {
  /** Applied only when the caller gives it a value; the index check covers every combination of such filters. */
  readonly optional?: boolean;
}

export interface QueryDeclaration {
  /** Unique across the registry: index findings name the query by it. */
  readonly name: string;
  readonly collection: string;
  /** Defaults to COLLECTION; a collection group spans every collection of that name. */
  readonly scope?: QueryScope;
  /** ANDed, in this order. */
  readonly filters?: readonly FilterDeclaration[];
  /** One Filter.or of these, ANDed with `filters`; Firestore serves each disjunct from its own index. */
  readonly anyOf?: readonly QueryFilter[];
  readonly orders?: readonly QueryOrder[];
}

type Each<List> = List extends readonly (infer Item)[] ? Item : never;
type RequiredField<D extends QueryDeclaration> =
  | Exclude<Each<D['filters']>, { readonly optional: true }>['field']
  | Each<D['anyOf']>['field'];
type OptionalField<D extends QueryDeclaration> = Extract<Each<D['filters']>, { readonly optional: true }>['field'];

/** The value of each filter, by field: required ones must be given, optional ones apply when given. */
export type QueryValues<D extends QueryDeclaration> = { readonly [F in RequiredField<D>]: unknown } & { readonly [F in OptionalField<D>]?: unknown };

export interface DeclaredQuery<D extends QueryDeclaration = QueryDeclaration> {
  readonly declaration: D;
  /** Every shape the query can run in: one per combination of optional filters and per OR disjunct. */
  readonly shapes: readonly QueryShape[];
  /** The query, with limits, cursors and projections left to the caller (they change no index). */
  build(firestore: Firestore, values: QueryValues<D>): Query;
}

/** The filter combinations a declaration can run with: each optional filter present or absent. */
export function filterCombinations(declaration: QueryDeclaration): readonly (readonly FilterDeclaration[])[] {
  let combinations: FilterDeclaration[][] = [[]];
  for (const filter of declaration.filters ?? []) {
    combinations = filter.optional
      ? combinations.flatMap((combination) => [[...combination, filter], combination])
      : combinations.map((combination) => [...combination, filter]);
  }
  return combinations;
}

function shapesOf(declaration: QueryDeclaration): QueryShape[] {
  const disjuncts: readonly (QueryFilter | undefined)[] = declaration.anyOf ?? [undefined];
  return filterCombinations(declaration).flatMap((combination) =>
    disjuncts.map((disjunct) => ({
      collection: declaration.collection,
      scope: declaration.scope ?? 'COLLECTION',
      filters: [...combination, ...(disjunct === undefined ? [] : [disjunct])].map(({ field, operator }) => ({ field, operator })),
      orders: declaration.orders ?? [],
      limitToLast: false,
    })),
  );
}

/** Caller mistakes in a declaration fail when its module loads, not at the first query. */
function assertWellFormed(declaration: QueryDeclaration): void {
  const filters = [...(declaration.filters ?? []), ...(declaration.anyOf ?? [])];
  const fields = filters.map((filter) => filter.field);
  const repeated = fields.find((field, position) => fields.indexOf(field) !== position);
  if (repeated !== undefined) throw new TypeError(`Query ${declaration.name} filters ${repeated} twice; values are given by field`);
  const unknown = filters.find((filter) => !(whereOperators as readonly string[]).includes(filter.operator));
  if (unknown !== undefined) throw new TypeError(`Query ${declaration.name} uses the unknown operator '${unknown.operator}'`);
  if (declaration.anyOf !== undefined && declaration.anyOf.length < 2) throw new TypeError(`Query ${declaration.name}: anyOf needs two or more filters`);
}

const pathOf = (field: string): string | FieldPath => (field === documentNameField ? FieldPath.documentId() : field);

export function declareQuery<const D extends QueryDeclaration>(declaration: D): DeclaredQuery<D> {
  assertWellFormed(declaration);
  const valueOf = (values: Readonly<Record<string, unknown>>, field: string): unknown => {
    const value = values[field];
    if (value === undefined) throw new TypeError(`Query ${declaration.name} needs a value for ${field}`);
    return value;
  };
  return {
    declaration,
    shapes: shapesOf(declaration),
    build(firestore, values) {
      const given = values as Readonly<Record<string, unknown>>;
      let query: Query = declaration.scope === 'COLLECTION_GROUP' ? firestore.collectionGroup(declaration.collection) : firestore.collection(declaration.collection);
      for (const { field, operator, optional } of declaration.filters ?? []) {
        if (optional && given[field] === undefined) continue;
        query = query.where(pathOf(field), operator, valueOf(given, field));
      }
      if (declaration.anyOf !== undefined) {
        query = query.where(Filter.or(...declaration.anyOf.map(({ field, operator }) => Filter.where(pathOf(field), operator, valueOf(given, field)))));
      }
      for (const { field, direction } of declaration.orders ?? []) query = query.orderBy(pathOf(field), direction);
      return query;
    },
  };
}
