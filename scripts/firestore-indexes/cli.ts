// `npm run check:indexes`: derives the composite indexes the code's queries need and compares them with firestore.indexes.json.
import { fileURLToPath } from 'node:url';
import { checkFirestoreIndexes, formatIndexFinding, repositoryQueryFolders } from './check-indexes.js';
import { describeShape } from './index-rules.js';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const check = checkFirestoreIndexes({ repositoryRoot, folders: repositoryQueryFolders, definitionPath: 'firestore.indexes.json' });
const verbose = process.argv.includes('--list');
if (verbose) {
  for (const query of check.discovery.queries) {
    const variant = query.variant === undefined ? '' : ` ${query.variant}`;
    process.stdout.write(`${query.executedAt.file}:${query.executedAt.line}: ${describeShape(query.shape)}${variant}\n`);
  }
}
for (const finding of check.findings) process.stderr.write(`${formatIndexFinding(finding)}\n`);
const summary = `${check.discovery.filesAnalyzed} files, ${check.discovery.queries.length} query shapes, ${check.requiredIndexes.length} composite indexes needed`;
process.stdout.write(
  check.findings.length === 0 ? `firestore indexes: ${summary}, no findings\n` : `firestore indexes: ${summary}, ${check.findings.length} finding(s)\n`,
);
process.exitCode = check.findings.length === 0 ? 0 : 1;
