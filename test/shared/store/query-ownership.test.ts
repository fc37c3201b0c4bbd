// The index check reads the declared queries (shared/store/query-registry.ts), not the code: this keeps every query
// among them. Only shared/store touches Firestore; inside it, only query-shape.ts refines a query; and every query
// declared there is in the registry. A query written any other way would run without the check knowing its index.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { declaredQueries } from '../../../shared/store/query-registry.js';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const storeFolder = join(repositoryRoot, 'shared/store');

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(folder, entry.name)) : entry.name.endsWith('.ts') ? [join(folder, entry.name)] : [],
  );
}

// Firestore client calls that read, query, write or open a transaction. URLSearchParams' getAll is not one of them:
// it is called on a `params` object or with a parameter's name (a string literal); Firestore's takes document references.
const firestoreCall =
  /\.(?:where|orderBy|limitToLast|findNearest|collectionGroup|collection|doc|runTransaction|batch|bulkWriter|listCollections|listDocuments|startAfter|startAt|endAt|endBefore|count|aggregate|recursiveDelete|onSnapshot)\(|(?<![pP]arams)\.getAll\((?!['"`])|\bFilter\.\w+\(|\btransaction\.(?:get|set|update|create|delete)\(/g;

/** Direct uses of the Firestore client, for modules outside shared/store. */
export function firestoreCalls(source: string): string[] {
  return [...source.matchAll(firestoreCall)].map((match) => match[0]);
}

// What changes a query's index: allowed in query-shape.ts alone. Limits, cursors and projections change none.
const queryRefinement = /\.(?:where|orderBy|limitToLast|findNearest|collectionGroup)\(|\bFilter\.\w+\(/g;
// A collection reference is a query too: in shared/store it may only name a document.
const collectionNotNamingADocument = /\.collection\([^()]*\)(?!\s*\.doc\()/g;

/** Queries a module of shared/store builds other than through a declared query. */
export function undeclaredQueries(source: string): string[] {
  return [...source.matchAll(queryRefinement), ...source.matchAll(collectionNotNamingADocument)].map((match) => match[0]);
}

/** The names of the queries a module declares, and whether each is declared in the one recognised form. */
export function declaredQueryNames(source: string): { readonly names: string[]; readonly unrecognised: number } {
  const names = [...source.matchAll(/export const (\w+) = declareQuery\(\{\s*name: '(\w+)'/g)].map((match) =>
    match[1] === match[2] ? (match[1] as string) : `${match[1]} (named '${match[2]}')`,
  );
  return { names, unrecognised: [...source.matchAll(/\bdeclareQuery\(/g)].length - names.length };
}

const isStore = (file: string): boolean => file.startsWith(`${storeFolder}/`);
const queryShapeModule = join(storeFolder, 'query-shape.ts');

test('no module outside shared/store calls the Firestore client', () => {
  const offenders = [...sourceFiles(join(repositoryRoot, 'shared')), ...sourceFiles(join(repositoryRoot, 'functions'))]
    .filter((file) => !isStore(file))
    .flatMap((file) => firestoreCalls(readFileSync(file, 'utf8')).map((call) => `${relative(repositoryRoot, file)}: ${call}`));
  expect(offenders).toEqual([]);
});

test('shared/store builds every query through a declared query', () => {
  const offenders = sourceFiles(storeFolder)
    .filter((file) => file !== queryShapeModule)
    .flatMap((file) => undeclaredQueries(readFileSync(file, 'utf8')).map((call) => `${relative(repositoryRoot, file)}: ${call}`));
  expect(offenders).toEqual([]);
});

test('every query declared in shared/store is in the registry the index check reads', () => {
  const declared = sourceFiles(storeFolder)
    .filter((file) => file !== queryShapeModule)
    .map((file) => ({ file: relative(repositoryRoot, file), ...declaredQueryNames(readFileSync(file, 'utf8')) }));
  expect(declared.filter((module) => module.unrecognised > 0).map((module) => module.file)).toEqual([]);
  const registered = declaredQueries.map((query) => query.declaration.name);
  expect(declared.flatMap((module) => module.names).sort()).toEqual([...registered].sort());
});

test('the checks find the ways a query can slip past the registry', () => {
  expect(firestoreCalls("await runtime.firestore().collection('connections').where('status', '==', 'active').get();")).toEqual(['.collection(', '.where(']);
  expect(firestoreCalls('return firestore.runTransaction(async (transaction) => transaction.get(ref));')).toEqual(['.runTransaction(', 'transaction.get(']);
  expect(firestoreCalls('query.where(Filter.or(a, b))')).toEqual(['.where(', 'Filter.or(']);
  expect(firestoreCalls('const values = params.getAll(name);')).toEqual([]);
  expect(firestoreCalls("const codes = checked.getAll('code');")).toEqual([]);
  expect(firestoreCalls('await firestore.getAll(a, b);')).toEqual(['.getAll(']);

  expect(undeclaredQueries("firestore.collection(collectionNames.auditLog).where('connectionId', '==', id)")).toEqual(['.where(', '.collection(collectionNames.auditLog)']);
  expect(undeclaredQueries('const jobs = (firestore: Firestore) => firestore.collection(collectionNames.rewrapJobs);')).toHaveLength(1);
  expect(undeclaredQueries("firestore.collectionGroup('connections')")).toEqual(['.collectionGroup(']);
  expect(undeclaredQueries('firestore.collection(collectionNames.connections)\n    .doc(connectionId)')).toEqual([]);
  expect(undeclaredQueries('connectionsById.build(firestore, {}).limit(10).startAfter(cursor)')).toEqual([]);

  expect(declaredQueryNames("export const dueThings = declareQuery({\n  name: 'dueThings',")).toEqual({ names: ['dueThings'], unrecognised: 0 });
  expect(declaredQueryNames("export const dueThings = declareQuery({ name: 'otherThings',")).toEqual({ names: ["dueThings (named 'otherThings')"], unrecognised: 0 });
  expect(declaredQueryNames("const hidden = declareQuery({ name: 'hidden',")).toEqual({ names: [], unrecognised: 1 });
});
