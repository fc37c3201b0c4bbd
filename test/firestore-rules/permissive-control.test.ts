// The control for deny-all.test.ts: the same harness, given rules that allow reads, lets a client read, so
// the denials there come from firestore.rules being evaluated, not from a harness that fails everything.
import { type RulesTestEnvironment, assertFails, assertSucceeds } from '@firebase/rules-unit-testing';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { collectionNames } from '../../shared/store/collections.js';
import { testProjectId } from '../support/firestore-test-project.js';
import { startRulesTestEnvironment, stopRulesTestEnvironment } from './rules-test-environment.js';

const readOnlyRules = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /{document=**} {
      allow read: if true;
    }
  }
}
`;

const seededData = { userId: 'bob', tenantId: 'tenant-a', note: 'seeded by the control' };

let environment: RulesTestEnvironment | undefined;

function ready(): RulesTestEnvironment {
  if (environment === undefined) throw new Error('The rules test environment did not start (see beforeAll)');
  return environment;
}

beforeAll(async () => {
  // A project of its own: these rules must never apply where firestore.rules is under test.
  environment = await startRulesTestEnvironment(testProjectId('rules-control'), readOnlyRules);
  await ready().withSecurityRulesDisabled(async (context) => {
    await context.firestore().collection(collectionNames.connections).doc('seeded').set(seededData);
  });
});

afterAll(async () => {
  const running = environment;
  environment = undefined;
  await stopRulesTestEnvironment(running);
});

test('an unauthenticated client reads a document when the rules allow reads', async () => {
  const documents = ready().unauthenticatedContext().firestore().collection(collectionNames.connections);
  const snapshot = await assertSucceeds(documents.doc('seeded').get());
  expect(snapshot.data()).toEqual(seededData);
  const listed = await assertSucceeds(documents.get());
  expect(listed.docs.map((document) => document.id)).toEqual(['seeded']);
});

test('the same client is still denied a write the rules do not allow', async () => {
  const documents = ready().unauthenticatedContext().firestore().collection(collectionNames.connections);
  await assertFails(documents.doc('seeded').update({ note: 'written by a client' }));
  await assertFails(documents.doc('created').set(seededData));
});
