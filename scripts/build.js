// The package build (`npm run build`, and dist/ for `npm start`, the tests and the Terraform archive): the dashboard's
// browser program (its own tsconfig, with the DOM), then the server program, then the dashboard's stylesheet copied
// beside the compiled script, where the admin function reads both.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const compiler = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const DASHBOARD_BROWSER_FOLDER = 'shared/usecases/admin/dashboard/browser';
const stylesheets = ['dashboard.css'];

function compile(project) {
  try {
    // stdio inherited: the compiler's diagnostics are the build's error message.
    execFileSync(process.execPath, [compiler, '-p', project], { cwd: repoRoot, stdio: 'inherit' });
  } catch {
    process.stderr.write(`The build failed compiling ${project}\n`);
    process.exit(1);
  }
}

// The dashboard type-imports the wire contract (client/wire.ts), so its pass emits that file as well, without a source
// map; the server pass runs after it, so what ships under dist/client/ is the server build's own output.
compile(join(DASHBOARD_BROWSER_FOLDER, 'tsconfig.json'));
compile('tsconfig.build.json');
const target = join(repoRoot, 'dist', DASHBOARD_BROWSER_FOLDER);
mkdirSync(target, { recursive: true });
for (const name of stylesheets) copyFileSync(join(repoRoot, DASHBOARD_BROWSER_FOLDER, name), join(target, name));
