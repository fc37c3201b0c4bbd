// `npm run check:indexes [-- --list] [-- --definition path]`: the composite indexes the declared queries need,
// compared with firestore.indexes.json (or another definition, to try a change before making it).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { declaredQueries } from '../../shared/store/query-registry.js';
import { checkIndexes, formatIndexFinding, readFirestoreDefinition } from './check-indexes.js';
import { describeShape } from './index-rules.js';

const { values } = parseArgs({ options: { list: { type: 'boolean', default: false }, definition: { type: 'string' } } });
const definitionPath = values.definition ?? fileURLToPath(new URL('../../firestore.indexes.json', import.meta.url));
const check = checkIndexes(declaredQueries, readFirestoreDefinition(definitionPath), values.definition ?? 'firestore.indexes.json');
if (values.list) {
  for (const query of declaredQueries) {
    for (const shape of query.shapes) process.stdout.write(`${query.declaration.name}: ${describeShape(shape)}\n`);
  }
}
for (const finding of check.findings) process.stderr.write(`${formatIndexFinding(finding)}\n`);
const summary = `${declaredQueries.length} declared queries, ${check.shapeCount} query shapes, ${check.requiredIndexes.length} composite indexes needed`;
process.stdout.write(
  check.findings.length === 0 ? `firestore indexes: ${summary}, no findings\n` : `firestore indexes: ${summary}, ${check.findings.length} finding(s)\n`,
);
process.exitCode = check.findings.length === 0 ? 0 : 1;
