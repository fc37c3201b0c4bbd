// firebase.json stays valid for firebase-tools (checked against the JSON schema it ships, without running it)
// and wires the rules and indexes the other tests and Terraform use, with emulator ports clear of `npm start`.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const firebaseConfig: unknown = JSON.parse(readFileSync(`${repoRoot}firebase.json`, 'utf8'));

const schemaPath = createRequire(import.meta.url).resolve('firebase-tools/schema/firebase-config.json');
const firebaseSchema = z
  .object({ properties: z.record(z.string(), z.unknown()) })
  .loose()
  .parse(JSON.parse(readFileSync(schemaPath, 'utf8')));
// The schema declares union types (e.g. a string or a list of strings); allowing them is all strict mode needs.
const validate = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(firebaseSchema);

function schemaErrors(config: unknown): string[] {
  if (validate(config)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
}

// The fields this project sets, typed for the assertions below; the schema check above covers the rest.
const endpoint = z.object({ host: z.string(), port: z.number().int() }).strict();
const wiredConfig = z
  .object({
    $schema: z.string(),
    firestore: z.object({ rules: z.string(), indexes: z.string() }).strict(),
    emulators: z
      .object({ singleProjectMode: z.boolean(), firestore: endpoint, pubsub: endpoint, ui: z.object({ enabled: z.boolean() }).strict() })
      .strict(),
  })
  .strict()
  .parse(firebaseConfig);

describe('firebase.json', () => {
  test("is valid against firebase-tools' own JSON schema", () => {
    expect(schemaErrors(firebaseConfig)).toEqual([]);
    expect(Object.keys(wiredConfig).filter((key) => !(key in firebaseSchema.properties))).toEqual([]);
  });

  test('the schema check rejects a misspelled key and a wrongly typed port', () => {
    expect(schemaErrors({ ...wiredConfig, firestore: { rulez: 'firestore.rules' } })).not.toEqual([]);
    expect(schemaErrors({ ...wiredConfig, emulatorz: {} })).not.toEqual([]);
    expect(
      schemaErrors({ ...wiredConfig, emulators: { ...wiredConfig.emulators, firestore: { host: '127.0.0.1', port: '8085' } } }),
    ).not.toEqual([]);
  });

  test('points editors at the schema it is checked against', () => {
    expect(wiredConfig.$schema).toBe('./node_modules/firebase-tools/schema/firebase-config.json');
    expect(existsSync(new URL(wiredConfig.$schema, `file://${repoRoot}`))).toBe(true);
  });

  test('deploys the rules the rules tests load and the indexes Terraform reads', () => {
    expect(wiredConfig.firestore).toEqual({ rules: 'firestore.rules', indexes: 'firestore.indexes.json' });
    expect(existsSync(`${repoRoot}firestore.rules`)).toBe(true);
    expect(existsSync(`${repoRoot}firestore.indexes.json`)).toBe(true);
  });

  test('runs the emulators on loopback, on ports clear of `npm start` (8080) and of each other, without the UI', () => {
    const { firestore, pubsub, ui, singleProjectMode } = wiredConfig.emulators;
    expect(firestore).toEqual({ host: '127.0.0.1', port: 8085 });
    expect(pubsub).toEqual({ host: '127.0.0.1', port: 8086 });
    expect(ui.enabled).toBe(false);
    expect(singleProjectMode).toBe(true);
  });
});
