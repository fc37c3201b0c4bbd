// Cold start: how long a fresh node takes to import each function's entry module (the compiled JS Cloud Run runs),
// beside `node -e 0` and beside eagerly importing the heavy Google clients, median of fresh processes each.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { functionNames } from '../functions/names.js';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const COLD_START_RUNS = 5;

/**
 * `googleapis` (the all-APIs package, ~1.4 s to import) is not a dependency and is not installed here: the eager
 * baseline imports the per-API Gmail client and the other heavy Google clients the broker uses instead.
 */
export const EAGER_MODULES = ['@googleapis/gmail', '@google-cloud/kms', '@google-cloud/firestore', '@google-cloud/pubsub'] as const;

/** Packages worth knowing about when they load at import time (CommonJS ones show up in require.cache). */
const HEAVY_PACKAGES = ['@google-cloud/firestore', '@google-cloud/kms', '@google-cloud/pubsub', '@google-cloud/scheduler', '@googleapis/gmail', 'googleapis-common', 'google-gax', '@slack/web-api', 'google-auth-library', '@grpc/grpc-js', 'protobufjs'] as const;

/** Configuration a function may read while it loads (the token function builds its runtime at import). */
const IMPORT_ENV: Readonly<Record<string, string>> = {
  GOOGLE_CLOUD_PROJECT: 'cold-start',
  METADATA_SERVER_DETECTION: 'none',
  ID_TOKEN_AUDIENCES: 'https://cold-start.example.test',
  LOG_LEVEL: 'ERROR',
};

// Runs in the child: times the import itself, then lists which heavy packages it loaded.
const probe = (specifiers: readonly string[]) => `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const began = performance.now();
for (const specifier of ${JSON.stringify(specifiers)}) await import(specifier);
const importMs = performance.now() - began;
const heavy = ${JSON.stringify(HEAVY_PACKAGES)}.filter((name) => Object.keys(require.cache).some((file) => file.includes('/node_modules/' + name + '/')));
process.stdout.write(JSON.stringify({ importMs, heavy }) + '\\n');
process.exit(0);
`;

export interface ColdStartRow {
  readonly label: string;
  /** Wall clock of the whole `node` process, median. */
  readonly processMs: number;
  /** The import alone, measured inside the process, median; 0 for `node -e 0`. */
  readonly importMs: number;
  readonly heavyLoaded: readonly string[];
}

export interface ColdStartReport {
  readonly compiled: boolean;
  readonly how: string;
  readonly rows: readonly ColdStartRow[];
  readonly skipped: readonly string[];
  readonly eager: ColdStartRow;
  readonly table: string;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function timeProcess(args: readonly string[], cwd: string, runs: number): Promise<{ processMs: number; importMs: number; heavy: string[] }> {
  const processTimes: number[] = [];
  const importTimes: number[] = [];
  let heavy: string[] = [];
  for (let index = 0; index < runs; index += 1) {
    const began = performance.now();
    const { stdout } = await run(process.execPath, [...args], { cwd, env: { ...process.env, ...IMPORT_ENV }, timeout: 120_000 });
    processTimes.push(performance.now() - began);
    const last = stdout.trim().split('\n').pop() ?? '';
    if (last.startsWith('{')) {
      const parsed = JSON.parse(last) as { importMs: number; heavy: string[] };
      importTimes.push(parsed.importMs);
      heavy = parsed.heavy;
    }
  }
  return { processMs: median(processTimes), importMs: importTimes.length > 0 ? median(importTimes) : 0, heavy };
}

/** Compiles the deployable code (tsconfig.build.json) into a temporary directory that resolves the repo's node_modules. */
async function buildIntoTemp(): Promise<{ dir: string; outDir: string; ok: boolean; output: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'oauth-broker-cold-start-'));
  const outDir = path.join(dir, 'dist');
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await symlink(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    const { stdout } = await run(process.execPath, [tsc, '-p', path.join(repoRoot, 'tsconfig.build.json'), '--outDir', outDir, '--declaration', 'false', '--sourceMap', 'false'], { cwd: repoRoot, timeout: 300_000 });
    return { dir, outDir, ok: true, output: stdout };
  } catch (error) {
    // tsc still emits JavaScript when the types do not check (work in progress elsewhere in the tree).
    return { dir, outDir, ok: false, output: String((error as { stdout?: string }).stdout ?? error) };
  }
}

export async function runColdStartBenchmark(log: (line: string) => void, runs = COLD_START_RUNS): Promise<ColdStartReport> {
  log('compiling the functions (tsconfig.build.json) into a temporary directory...');
  const build = await buildIntoTemp();
  try {
    const compiledPath = (name: string) => path.join(build.outDir, 'functions', `${name}.js`);
    const compiled = functionNames.some((name) => existsSync(compiledPath(name)));
    if (!build.ok) log(`tsc reported errors (JavaScript emitted anyway):\n${build.output.split('\n').slice(0, 5).join('\n')}`);
    const how = compiled ? 'plain node on the compiled JavaScript (what Cloud Run runs)' : 'node --import tsx on the TypeScript sources (the build produced nothing)';
    const present = functionNames.filter((name) => existsSync(path.join(repoRoot, 'functions', `${name}.ts`)));
    const skipped = functionNames.filter((name) => !present.includes(name));
    const entryOf = (name: string) => pathToFileURL(compiled ? compiledPath(name) : path.join(repoRoot, 'functions', `${name}.ts`)).href;
    const nodeArgs = (specifiers: readonly string[]) => [...(compiled ? [] : ['--import', 'tsx']), '--input-type=module', '-e', probe(specifiers)];
    const cwd = compiled ? build.dir : repoRoot;

    log(`measuring: median of ${runs} fresh processes each, ${how}`);
    const baseline = await timeProcess(['-e', '0'], cwd, runs);
    const rows: ColdStartRow[] = [{ label: 'node -e 0', processMs: baseline.processMs, importMs: 0, heavyLoaded: [] }];
    const eagerTimes = await timeProcess(nodeArgs(EAGER_MODULES), cwd, runs);
    const eager: ColdStartRow = { label: `eager: ${EAGER_MODULES.join(' + ')}`, processMs: eagerTimes.processMs, importMs: eagerTimes.importMs, heavyLoaded: eagerTimes.heavy };
    rows.push(eager);
    for (const name of present) {
      const times = await timeProcess(nodeArgs([entryOf(name)]), cwd, runs);
      rows.push({ label: `functions/${name}`, processMs: times.processMs, importMs: times.importMs, heavyLoaded: times.heavy });
    }
    return { compiled, how, rows, skipped, eager, table: formatColdStartTable(rows, eager) };
  } finally {
    await rm(build.dir, { recursive: true, force: true });
  }
}

/** A function meets the target when its import takes less than half the eager import. */
export function meetsColdStartTarget(row: ColdStartRow, eager: ColdStartRow): boolean {
  return row.importMs < eager.importMs / 2;
}

function formatColdStartTable(rows: readonly ColdStartRow[], eager: ColdStartRow): string {
  const header = ['entry', 'process ms', 'import ms', 'vs eager', 'target < 50 %', 'heavy packages loaded at import'];
  const lines = rows.map((row) => {
    const isFunction = row.label.startsWith('functions/');
    return [
      row.label,
      row.processMs.toFixed(0),
      row.label === 'node -e 0' ? '-' : row.importMs.toFixed(0),
      isFunction ? `${((row.importMs / eager.importMs) * 100).toFixed(0)} %` : '-',
      isFunction ? (meetsColdStartTarget(row, eager) ? 'met' : 'MISSED') : '-',
      row.heavyLoaded.join(', ') || '-',
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] as string).length)));
  const render = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] as number)).join('  ').trimEnd();
  return [render(header), render(widths.map((width) => '-'.repeat(width))), ...lines.map(render)].join('\n');
}

// `tsx bench/cold-start.ts` runs this benchmark alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const report = await runColdStartBenchmark(log);
  log(report.table);
  if (report.skipped.length > 0) log(`skipped (no module yet): ${report.skipped.join(', ')}`);
}
