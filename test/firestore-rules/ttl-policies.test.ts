// firestore.indexes.json (Terraform's source for TTL policies) declares exactly the TTL fields shared/store/collections.ts defines.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { firestoreDefinitionSchema } from '../../scripts/terraform-check/check-firestore-definition.js';
import { collectionNames, firestoreCollections, ttlFields } from '../../shared/store/collections.js';

const definition = firestoreDefinitionSchema.parse(JSON.parse(readFileSync(new URL('../../firestore.indexes.json', import.meta.url), 'utf8')));

test('every TTL field override matches ttlFields, and every ttlFields entry has its override', () => {
  const declared = definition.fieldOverrides
    .filter((override) => override.ttl === true)
    .map((override) => [override.collectionGroup, override.fieldPath] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  const expected = Object.entries(ttlFields).sort(([a], [b]) => a.localeCompare(b));
  expect(declared).toEqual(expected);
});

test('TTL policies exist only on collections the broker uses, and switch off the field index nobody queries', () => {
  const ttlOverrides = definition.fieldOverrides.filter((override) => override.ttl === true);
  for (const override of ttlOverrides) {
    expect(firestoreCollections).toContain(override.collectionGroup);
    // A single-field index on an ever-increasing timestamp is a write hotspot; TTL does not need it.
    expect(override.indexes).toEqual([]);
  }
});

test('every collection is named by exactly one role', () => {
  expect(Object.values(collectionNames).sort()).toEqual([...firestoreCollections].sort());
});
