// The checks `npm test` runs before the test files, side by side: the typechecker, the linter and the package build
// (dist/, which the tests' production-shaped stacks run; skipped when it matches the sources, as in the tests' setup).
// Each is a single-threaded process, so on two cores they take about as long as the longest rather than their sum
// (59 s together against 85 s in a row on a 2-core machine). Each one's output is printed whole when it ends, so two
// checks' lines never interleave; the script fails when any check failed, once all have ended.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureFunctionsBuilt } from '../local/function-build.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function report(name: string, passed: boolean, startedAt: number, text: string): boolean {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  process.stdout.write(`${passed ? 'passed' : 'FAILED'}  ${name} (${seconds} s)\n${text ? `${text}\n` : ''}`);
  return passed;
}

function runScript(script: string): Promise<boolean> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const child = spawn(npm, ['run', '--silent', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.once('error', (error) => output.push(Buffer.from(`${error.message}\n`)));
    child.once('close', (code) => resolve(report(`npm run ${script}`, code === 0, startedAt, Buffer.concat(output).toString('utf8').trim())));
  });
}

async function build(): Promise<boolean> {
  const startedAt = performance.now();
  try {
    const { built } = await ensureFunctionsBuilt(repoRoot);
    return report('build', true, startedAt, built ? '' : 'dist/ was up to date');
  } catch (error) {
    return report('build', false, startedAt, (error as Error).message);
  }
}

const outcomes = await Promise.all([runScript('typecheck'), runScript('lint'), build()]);
if (outcomes.includes(false)) process.exit(1);
