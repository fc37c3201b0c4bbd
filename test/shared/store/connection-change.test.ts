// Every write to a connection document stamps its change (shared/store/connection-change.ts): the token cache hears
// of changes through that stamp alone, so a module writing a connection document another way would go unheard.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const sharedRoot = fileURLToPath(new URL('../../../shared/', import.meta.url));

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(folder, entry.name)) : entry.name.endsWith('.ts') ? [join(folder, entry.name)] : [],
  );
}

/** Writes whose target is a connection document reference, other than through the stamping writers. */
export function unstampedConnectionWrites(source: string): string[] {
  const references = [...source.matchAll(/(?:const|let)\s+(\w+)\s*=\s*connectionRef\(/g)].map((match) => match[1] as string);
  const targets = ['connectionRef\\([^)]*\\)', ...references.map((name) => `${name}\\b`)].join('|');
  const direct = new RegExp(`(?:\\.(?:update|set|create)\\(\\s*(?:${targets}))|(?:connectionRef\\([^)]*\\)\\s*\\.(?:update|set|create)\\()`, 'g');
  const onReference = references.length === 0 ? [] : [...source.matchAll(new RegExp(`\\b(?:${references.join('|')})\\s*\\.(?:update|set|create)\\(`, 'g'))];
  return [...source.matchAll(direct), ...onReference].map((match) => match[0]);
}

test('no module in shared/ writes a connection document except through connection-change.ts', () => {
  const offenders = sourceFiles(sharedRoot)
    .filter((file) => !file.endsWith('connection-change.ts'))
    .flatMap((file) => unstampedConnectionWrites(readFileSync(file, 'utf8')).map((write) => `${relative(sharedRoot, file)}: ${write}`));
  expect(offenders).toEqual([]);
});

test('the check finds the ways a connection document can be written directly', () => {
  expect(unstampedConnectionWrites('const ref = connectionRef(firestore, id);\ntransaction.update(ref, { status });')).toHaveLength(1);
  expect(unstampedConnectionWrites('const docRef = connectionRef(firestore, id);\nawait docRef.set(document);')).toHaveLength(1);
  expect(unstampedConnectionWrites('batch.set(connectionRef(firestore, id), document);')).toHaveLength(1);
  expect(unstampedConnectionWrites('await connectionRef(firestore, id).update({ scopes });')).toHaveLength(1);
  expect(unstampedConnectionWrites('const ref = connectionRef(firestore, id);\nupdateConnectionDocument(transaction, ref, { status });')).toEqual([]);
});
