// firestore.rules loaded into the emulator: every client SDK read and write on every collection is denied, and no write lands.
import { type RulesTestContext, type RulesTestEnvironment, assertFails } from '@firebase/rules-unit-testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { firestoreCollections } from '../../shared/store/collections.js';
import { testProjectId } from '../support/firestore-test-project.js';
import { readDeployedRules, startRulesTestEnvironment, stopRulesTestEnvironment } from './rules-test-environment.js';

type ClientFirestore = ReturnType<RulesTestContext['firestore']>;

const ownerUid = 'bob';
const seededId = 'seeded';
// Every document carries the fields an owner- or tenant-scoped rule would key on, so a rule such as
// `resource.data.userId == request.auth.uid` would be caught letting the owner in.
const seededData = { userId: ownerUid, tenantId: 'tenant-a', note: 'seeded by the test' };

interface Client {
  readonly name: string;
  readonly open: (environment: RulesTestEnvironment) => RulesTestContext;
}

const clients: readonly Client[] = [
  { name: 'an unauthenticated client', open: (environment) => environment.unauthenticatedContext() },
  { name: 'a signed-in stranger', open: (environment) => environment.authenticatedContext('alice') },
  { name: "the document's own user", open: (environment) => environment.authenticatedContext(ownerUid) },
  {
    name: 'a signed-in user with an admin claim',
    open: (environment) => environment.authenticatedContext('carol', { email: 'carol@example.com', email_verified: true, admin: true }),
  },
];

let environment: RulesTestEnvironment | undefined;
const firestores = new Map<string, ClientFirestore>();

function ready(): RulesTestEnvironment {
  if (environment === undefined) throw new Error('The rules test environment did not start (see beforeAll)');
  return environment;
}

function clientFirestore(client: Client): ClientFirestore {
  let firestore = firestores.get(client.name);
  if (firestore === undefined) {
    firestore = client.open(ready()).firestore();
    firestores.set(client.name, firestore);
  }
  return firestore;
}

/** Attempts every operation and returns the ones that were not denied (with why), so one failure shows them all. */
async function notDenied(attempts: Readonly<Record<string, () => Promise<unknown>>>): Promise<string[]> {
  const outcomes = await Promise.all(
    Object.entries(attempts).map(async ([operation, attempt]) => {
      try {
        await assertFails(attempt());
        return undefined;
      } catch (error) {
        return `${operation}: ${error instanceof Error ? error.message : String(error)}`;
      }
    }),
  );
  return outcomes.filter((outcome): outcome is string => outcome !== undefined);
}

async function readWithRulesDisabled(collection: string, id: string): Promise<Record<string, unknown> | undefined> {
  let data: Record<string, unknown> | undefined;
  await ready().withSecurityRulesDisabled(async (context) => {
    data = (await context.firestore().collection(collection).doc(id).get()).data();
  });
  return data;
}

beforeAll(async () => {
  environment = await startRulesTestEnvironment(testProjectId('rules-deny-all'), readDeployedRules());
  // Seeded with the rules bypassed, so every denied read below is denied on a document that exists.
  await ready().withSecurityRulesDisabled(async (context) => {
    const firestore = context.firestore();
    await Promise.all(firestoreCollections.map((collection) => firestore.collection(collection).doc(seededId).set(seededData)));
  });
});

afterAll(async () => {
  const running = environment;
  environment = undefined;
  firestores.clear();
  await stopRulesTestEnvironment(running);
});

describe.each(firestoreCollections)('collection %s', (collection) => {
  test('holds the seeded document (read with the rules bypassed)', async () => {
    expect(await readWithRulesDisabled(collection, seededId)).toEqual(seededData);
  });

  test.each(clients)('$name cannot get, list or query it', async (client) => {
    const firestore = clientFirestore(client);
    const documents = firestore.collection(collection);
    expect(
      await notDenied({
        'get the seeded document': () => documents.doc(seededId).get(),
        'get a missing document': () => documents.doc('missing').get(),
        'list the collection': () => documents.get(),
        'query the documents of the owner': () => documents.where('userId', '==', ownerUid).get(),
        'query one tenant with a limit': () => documents.where('tenantId', '==', seededData.tenantId).limit(1).get(),
      }),
    ).toEqual([]);
  });

  test.each(clients)('$name cannot create, set, update or delete in it, and nothing it tried lands', async (client) => {
    const firestore = clientFirestore(client);
    const documents = firestore.collection(collection);
    const createdId = `created-${client.name.replaceAll(/[^a-z]+/g, '-')}`;
    expect(
      await notDenied({
        'create a document': () => documents.doc(createdId).set({ ...seededData, note: 'created by a client' }),
        'add a document with a generated id': () => documents.add({ ...seededData, note: 'added by a client' }),
        'overwrite the seeded document': () => documents.doc(seededId).set({ ...seededData, note: 'overwritten by a client' }),
        'merge into the seeded document': () => documents.doc(seededId).set({ note: 'merged by a client' }, { merge: true }),
        'update the seeded document': () => documents.doc(seededId).update({ note: 'updated by a client' }),
        'delete the seeded document': () => documents.doc(seededId).delete(),
        'write in a batch': () => firestore.batch().set(documents.doc(createdId), seededData).commit(),
        'write in a transaction': () =>
          firestore.runTransaction(async (transaction) => {
            transaction.set(documents.doc(createdId), seededData);
          }),
      }),
    ).toEqual([]);
    expect(await readWithRulesDisabled(collection, seededId)).toEqual(seededData);
    expect(await readWithRulesDisabled(collection, createdId)).toBeUndefined();
  });
});

test('the seeded collections hold nothing but the seeded documents after every client tried to write', async () => {
  const found: Record<string, string[]> = {};
  await ready().withSecurityRulesDisabled(async (context) => {
    for (const collection of firestoreCollections) {
      found[collection] = (await context.firestore().collection(collection).get()).docs.map((document) => document.id);
    }
  });
  expect(found).toEqual(Object.fromEntries(firestoreCollections.map((collection) => [collection, [seededId]])));
});
