// Builds dist/ (what Terraform uploads and Cloud Run serves) when its sources changed since the last build, so the
// local stack always runs the compiled output and a developer never runs a stale one.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What the build reads: the package's source folders (TypeScript, JSON such as the provider catalog, the dashboard's CSS), the compiler's settings and the build script. */
const sourceFolders = ['functions', 'shared', 'client', 'cli'];
const sourceExtensions = ['.ts', '.json', '.css'];
/** Build output inside a source folder (the client package's own dist/) is not a source. */
const outputFolder = 'dist';
const sourceFiles = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.js'];
/** Beside the output: the hash of the sources it was built from. */
const STAMP = 'dist/.source-hash';

function filesUnder(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && sourceExtensions.some((extension) => entry.name.endsWith(extension)))
    .filter((entry) => !relative(folder, entry.parentPath).split(sep).includes(outputFolder))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** A content hash (not mtimes, which a fresh clone or a checkout resets) of everything the build reads. */
export function sourceHash(repoRoot: string): string {
  const hash = createHash('sha256');
  const files = [...sourceFolders.flatMap((folder) => filesUnder(join(repoRoot, folder))), ...sourceFiles.map((file) => join(repoRoot, file))].sort();
  for (const file of files) hash.update(relative(repoRoot, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

export interface BuildResult {
  /** False when dist/ was already built from these sources. */
  readonly built: boolean;
  readonly ms: number;
}

/** Runs the package build (scripts/build.js, as `npm run build`) unless dist/ matches the sources; throws with the compiler's output on failure. */
export async function ensureFunctionsBuilt(repoRoot: string): Promise<BuildResult> {
  const startedAt = performance.now();
  const hash = sourceHash(repoRoot);
  const stamp = join(repoRoot, STAMP);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash && existsSync(join(repoRoot, 'dist/functions/index.js'))) {
    return { built: false, ms: performance.now() - startedAt };
  }
  try {
    await run(process.execPath, [join(repoRoot, 'scripts', 'build.js')], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`The build (npm run build) failed:\n${`${stdout}${stderr}`.trim() || String(error)}`);
  }
  writeFileSync(stamp, hash);
  return { built: true, ms: performance.now() - startedAt };
}
