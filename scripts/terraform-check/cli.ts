// `npm run check:terraform`: checks terraform/ offline and exits non-zero on any finding.
import { fileURLToPath } from 'node:url';
import { checkTerraform, repositoryCheckOptions } from './check-terraform.js';
import { formatFinding } from './findings.js';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const findings = await checkTerraform(repositoryCheckOptions(repositoryRoot));
for (const finding of findings) process.stderr.write(`${formatFinding(finding)}\n`);
process.stdout.write(
  findings.length === 0 ? 'terraform check: no findings\n' : `terraform check: ${findings.length} finding(s)\n`,
);
process.exitCode = findings.length === 0 ? 0 : 1;
