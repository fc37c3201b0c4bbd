// Per-file isolation on the shared emulator: each test project sees only its own documents, and clearing one leaves the other alone.
import { describe, expect, it } from 'vitest';
import { useFirestoreTestProject } from '../../support/firestore-test-project.js';

const first = useFirestoreTestProject('isolation-first');
const second = useFirestoreTestProject('isolation-second');

describe('Firestore test projects', () => {
  it('get distinct, valid GCP project ids wired through the config', () => {
    expect(first.projectId).not.toBe(second.projectId);
    for (const project of [first, second]) {
      expect(project.projectId).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
      expect(project.config.projectId).toBe(project.projectId);
      expect(project.firestore.databaseId).toBe('(default)');
    }
  });

  it('do not see each other’s documents', async () => {
    await first.firestore.doc('connections/same-id').set({ owner: 'first' });
    await second.firestore.doc('connections/same-id').set({ owner: 'second' });

    expect((await first.firestore.doc('connections/same-id').get()).get('owner')).toBe('first');
    expect((await second.firestore.doc('connections/same-id').get()).get('owner')).toBe('second');
    expect((await first.firestore.collection('connections').get()).size).toBe(1);
  });

  it('clear only their own project', async () => {
    await first.firestore.doc('connections/to-clear').set({ owner: 'first' });
    await second.firestore.doc('connections/to-keep').set({ owner: 'second' });

    await first.clear();

    expect((await first.firestore.collection('connections').get()).empty).toBe(true);
    expect((await second.firestore.doc('connections/to-keep').get()).exists).toBe(true);
  });
});
