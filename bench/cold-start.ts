// Cold start: per function, the import time of its entry module (the compiled JS Cloud Run runs) beside `node -e 0` and
// beside eagerly importing googleapis + KMS + Firestore, where that time goes, and the time to a first answered request.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type FunctionName, functionNames } from '../functions/names.js';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const COLD_START_RUNS = 5;

/**
 * The all-APIs `googleapis` package the issue compares against. It is no dependency of the broker (231 MB; `npm ci`
 * never fetches it): the bench installs it on demand into a scratch cache. 178.0.0 is the newest release whose
 * `engines` admits Node 20 (178.1.1 and later, 188 included, require Node 22, like their google-auth-library 11).
 */
export const GOOGLEAPIS_VERSION = '178.0.0';
const googleapisCacheDir = path.join(repoRoot, 'node_modules', '.cache', 'oauth-broker-bench', `googleapis-${GOOGLEAPIS_VERSION}`);

/** The issue's eager baseline: every Google client a careless broker would import up front. */
export const EAGER_MODULES = ['googleapis', '@google-cloud/kms', '@google-cloud/firestore'] as const;
/** The fallback baseline when googleapis cannot be installed (offline): the per-API clients the broker uses. */
export const PER_API_EAGER_MODULES = ['@googleapis/gmail', '@google-cloud/kms', '@google-cloud/firestore', '@google-cloud/pubsub'] as const;

/** Packages worth knowing about when they load at import time (CommonJS ones show up in require.cache). */
const HEAVY_PACKAGES = ['@google-cloud/firestore', '@google-cloud/kms', '@google-cloud/pubsub', '@google-cloud/scheduler', '@googleapis/gmail', 'googleapis', 'googleapis-common', 'google-gax', '@slack/web-api', 'google-auth-library', '@grpc/grpc-js', 'protobufjs'] as const;

/** What every function imports, in the order the breakdown loads them before the function's own modules. */
const BREAKDOWN_STEPS = ['@google-cloud/functions-framework', 'express', 'zod', 'google-auth-library', '@google-cloud/firestore'] as const;

/**
 * Configuration a function reads while it loads or answers its first request: enough for each function to reach its
 * own caller check, and no more (no emulator, no KMS, no provider: the first request is refused before any of them).
 */
const COLD_START_ENV: Readonly<Record<string, string>> = {
  GOOGLE_CLOUD_PROJECT: 'cold-start',
  METADATA_SERVER_DETECTION: 'none',
  ID_TOKEN_AUDIENCES: 'https://cold-start.example.test',
  ADMIN_ALLOWLIST: 'operator@cold-start.example.test',
  SCHEDULER_SERVICE_ACCOUNT: 'scheduler@cold-start.iam.gserviceaccount.com',
  LOG_LEVEL: 'ERROR',
};

/** Each function's first request: a real route that is refused at the caller check, as a stranger's request would be. */
const FIRST_REQUESTS: Readonly<Record<FunctionName | 'empty', { readonly method: 'GET' | 'POST'; readonly path: string; readonly status: number }>> = {
  authorize: { method: 'POST', path: '/', status: 401 },
  callback: { method: 'GET', path: '/start', status: 400 },
  connections: { method: 'POST', path: '/disconnect', status: 401 },
  token: { method: 'POST', path: '/', status: 401 },
  proxy: { method: 'GET', path: '/slack/api/auth.test', status: 401 },
  admin: { method: 'GET', path: '/api/connections', status: 401 },
  refresh: { method: 'POST', path: '/', status: 401 },
  health: { method: 'POST', path: '/', status: 401 },
  empty: { method: 'POST', path: '/', status: 401 },
};

// The floor of the first-response column: the framework serving a function that imports nothing and refuses everyone.
const EMPTY_FUNCTION = `import { http } from '@google-cloud/functions-framework';
http('empty', (_req, res) => { res.status(401).send(''); });
`;

// Runs in the child: loads `preload` untimed, times the import itself (wall and CPU), then lists the heavy packages loaded.
const importProbe = (specifiers: readonly string[], preload: readonly string[] = []) => `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
for (const specifier of ${JSON.stringify(preload)}) await import(specifier);
const cpu = process.cpuUsage();
const began = performance.now();
for (const specifier of ${JSON.stringify(specifiers)}) await import(specifier);
const importMs = performance.now() - began;
const used = process.cpuUsage(cpu);
const heavy = ${JSON.stringify(HEAVY_PACKAGES)}.filter((name) => Object.keys(require.cache).some((file) => file.includes('/node_modules/' + name + '/')));
process.stdout.write(JSON.stringify({ importMs, cpuMs: (used.user + used.system) / 1000, heavy }) + '\\n');
process.exit(0);
`;

// Runs in the child: imports one specifier after another and times each step on top of the ones before.
const stepProbe = (specifiers: readonly string[]) => `
const steps = [];
for (const specifier of ${JSON.stringify(specifiers)}) {
  const began = performance.now();
  await import(specifier);
  steps.push(performance.now() - began);
}
process.stdout.write(JSON.stringify({ steps }) + '\\n');
process.exit(0);
`;

export interface ColdStartRow {
  readonly label: string;
  /** Wall clock of the whole `node` process that only imports, median. */
  readonly processMs: number;
  /** The import alone, measured inside the process, median; 0 for `node -e 0`. */
  readonly importMs: number;
  /** CPU time (user + system) of the import, median: steadier than wall time on a busy machine. */
  readonly importCpuMs: number;
  /**
   * The import after the framework's server module (express, body parsing) is loaded, median: in Cloud Run the
   * framework's main loads that first and imports the function's module afterwards, so this is the import it pays.
   */
  readonly importAfterFrameworkMs?: number;
  readonly heavyLoaded: readonly string[];
  /** Process start → the functions framework's server listening → the first request answered, median. */
  readonly firstResponse?: { readonly listeningMs: number; readonly responseMs: number; readonly statuses: readonly number[]; readonly expectedStatus: number };
}

export interface ColdStartBreakdown {
  readonly name: FunctionName;
  /** Median ms of each step of BREAKDOWN_STEPS, then the provider catalog, then the function's own modules. */
  readonly stepsMs: readonly number[];
  readonly totalMs: number;
}

export interface ColdStartReport {
  readonly compiled: boolean;
  readonly how: string;
  /** Fresh processes per cell; each figure is their median. */
  readonly runs: number;
  /** Which eager baseline was measured, and why, in one sentence for the printed output. */
  readonly eagerNote: string;
  readonly rows: readonly ColdStartRow[];
  readonly skipped: readonly string[];
  readonly eager: ColdStartRow;
  readonly breakdown: readonly ColdStartBreakdown[];
  /** The 1-minute load average before and after: figures from a busy machine are slower, all rows alike. */
  readonly loadAverage: readonly [number, number];
  readonly table: string;
  readonly breakdownTable: string;
  readonly verdict: readonly string[];
}

const median = (values: readonly number[]) => (values.length === 0 ? Number.NaN : ([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number));

function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The framework announces "Serving function..." only outside production; that line is when it listens.
  delete env.NODE_ENV;
  delete env.FIRESTORE_EMULATOR_HOST;
  delete env.FUNCTION_TARGET;
  return { ...env, ...COLD_START_ENV, ...extra };
}

async function runProbe<T>(args: readonly string[], cwd: string): Promise<{ wallMs: number; result: T }> {
  const began = performance.now();
  const { stdout } = await run(process.execPath, [...args], { cwd, env: childEnv(), timeout: 120_000 });
  const wallMs = performance.now() - began;
  const last = stdout.trim().split('\n').pop() ?? '';
  if (!last.startsWith('{')) throw new Error(`cold-start probe printed no result: ${stdout.slice(-500)}`);
  return { wallMs, result: JSON.parse(last) as T };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no loopback port for the cold-start server');
  return address.port;
}

function httpStatus(port: number, method: string, requestPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, method, path: requestPath, headers: method === 'POST' ? { 'content-type': 'application/json' } : {} }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    });
    outgoing.once('error', reject);
    outgoing.end(method === 'POST' ? '{}' : undefined);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** Starts the functions framework as Cloud Run does (PORT, FUNCTION_TARGET, the package entry) and times its first answer. */
async function timeFirstResponse(source: string, target: string, cwd: string): Promise<{ listeningMs: number; responseMs: number; status: number }> {
  const port = await freePort();
  const frameworkMain = path.join(repoRoot, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
  const began = performance.now();
  const child = spawn(process.execPath, [frameworkMain], {
    cwd,
    env: childEnv({ PORT: String(port), FUNCTION_TARGET: target, FUNCTION_SOURCE: source, FUNCTION_SIGNATURE_TYPE: 'http' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const listeningMs = await new Promise<number>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`${target} did not start listening within 60 s:\n${output.slice(-2000)}`)), 60_000);
      const collect = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('Serving function...')) {
          clearTimeout(timer);
          resolve(performance.now() - began);
        }
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${target} exited with ${code} before listening:\n${output.slice(-2000)}`));
      });
    });
    const first = FIRST_REQUESTS[target as FunctionName | 'empty'];
    const status = await httpStatus(port, first.method, first.path);
    return { listeningMs, responseMs: performance.now() - began, status };
  } finally {
    await stopChild(child);
  }
}

type GoogleapisInstall = { readonly ok: true; readonly entryUrl: string } | { readonly ok: false; readonly reason: string };

/** Installs googleapis@GOOGLEAPIS_VERSION into the scratch cache once; later runs reuse it. */
export async function ensureGoogleapis(log: (line: string) => void): Promise<GoogleapisInstall> {
  const manifest = path.join(googleapisCacheDir, 'node_modules', 'googleapis', 'package.json');
  const installed = async () => {
    try {
      return (JSON.parse(await readFile(manifest, 'utf8')) as { version?: unknown }).version === GOOGLEAPIS_VERSION;
    } catch {
      return false;
    }
  };
  if (!(await installed())) {
    log(`fetching googleapis@${GOOGLEAPIS_VERSION} once into ${path.relative(repoRoot, googleapisCacheDir)} (not a dependency; reused by later runs)...`);
    try {
      await mkdir(googleapisCacheDir, { recursive: true });
      // Its own package.json keeps npm from treating the broker's package as the project it installs into.
      await writeFile(path.join(googleapisCacheDir, 'package.json'), `${JSON.stringify({ name: 'oauth-broker-bench-googleapis', private: true })}\n`);
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      await run(npm, ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', '--fetch-retries=1', '--prefix', googleapisCacheDir, `googleapis@${GOOGLEAPIS_VERSION}`], {
        cwd: googleapisCacheDir,
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      // npm's first error lines say why (code, errno, the failing request); its last one only points at a log file.
      const lines = (stderr || String(error)).split('\n').filter((line) => line.trim() !== '' && !line.includes('A complete log of this run'));
      const errors = lines.filter((line) => /^npm (error|ERR!)/.test(line));
      const why = (errors.length > 0 ? errors : lines.filter((line) => !line.startsWith('npm warn'))).slice(0, 2).join(' ');
      return { ok: false, reason: `npm install googleapis@${GOOGLEAPIS_VERSION} failed (${why.slice(0, 240)})` };
    }
    if (!(await installed())) return { ok: false, reason: `npm install reported success but ${path.relative(repoRoot, manifest)} is not version ${GOOGLEAPIS_VERSION}` };
  }
  const entry = createRequire(path.join(googleapisCacheDir, 'package.json')).resolve('googleapis');
  return { ok: true, entryUrl: pathToFileURL(entry).href };
}

/** Compiles the deployable code (tsconfig.build.json) into a temporary directory that resolves the repo's node_modules. */
async function buildIntoTemp(): Promise<{ dir: string; outDir: string; ok: boolean; output: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'oauth-broker-cold-start-'));
  const outDir = path.join(dir, 'dist');
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await symlink(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  await writeFile(path.join(dir, 'empty-function.js'), EMPTY_FUNCTION);
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    const { stdout } = await run(process.execPath, [tsc, '-p', path.join(repoRoot, 'tsconfig.build.json'), '--outDir', outDir, '--declaration', 'false', '--sourceMap', 'false'], { cwd: repoRoot, timeout: 300_000 });
    return { dir, outDir, ok: true, output: stdout };
  } catch (error) {
    // tsc still emits JavaScript when the types do not check (work in progress elsewhere in the tree).
    return { dir, outDir, ok: false, output: String((error as { stdout?: string }).stdout ?? error) };
  }
}

interface ImportSample {
  readonly importMs: number;
  readonly cpuMs: number;
  readonly heavy: string[];
}

/** One measurement of each job per round, rounds repeated: a burst of load on the shared machine hits every row alike. */
async function roundRobin(jobs: readonly (() => Promise<void>)[], runs: number, log: (line: string) => void): Promise<void> {
  for (let round = 1; round <= runs; round += 1) {
    const began = performance.now();
    for (const job of jobs) await job();
    log(`  round ${round}/${runs} done in ${((performance.now() - began) / 1000).toFixed(1)} s`);
  }
}

export async function runColdStartBenchmark(log: (line: string) => void, runs = COLD_START_RUNS): Promise<ColdStartReport> {
  const googleapis = await ensureGoogleapis(log);
  const eagerNote = googleapis.ok
    ? `eager row: googleapis@${GOOGLEAPIS_VERSION} (fetched on demand into node_modules/.cache, not a dependency) + @google-cloud/kms + @google-cloud/firestore, as the issue names it`
    : `eager row: FALLBACK to the per-API clients (${PER_API_EAGER_MODULES.join(' + ')}) because ${googleapis.reason}; this baseline is lighter than the issue's, so the verdicts are stricter than asked`;
  log('compiling the functions (tsconfig.build.json) into a temporary directory...');
  const build = await buildIntoTemp();
  try {
    const compiledPath = (name: string) => path.join(build.outDir, 'functions', `${name}.js`);
    const compiled = functionNames.some((name) => existsSync(compiledPath(name)));
    if (!compiled) throw new Error(`tsc emitted no functions; its output:\n${build.output.split('\n').slice(0, 20).join('\n')}`);
    if (!build.ok) log(`tsc reported errors (JavaScript emitted anyway):\n${build.output.split('\n').slice(0, 5).join('\n')}`);
    const how = 'plain node on the compiled JavaScript (what Cloud Run runs)';
    const present = functionNames.filter((name) => existsSync(compiledPath(name)));
    const skipped = functionNames.filter((name) => !present.includes(name));
    const urlOf = (file: string) => pathToFileURL(file).href;
    const importArgs = (specifiers: readonly string[], preload: readonly string[] = []) => ['--input-type=module', '-e', importProbe(specifiers, preload)];
    const frameworkServer = urlOf(path.join(repoRoot, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'server.js'));
    const cwd = build.dir;
    const eagerModules: readonly string[] = googleapis.ok ? [googleapis.entryUrl, ...EAGER_MODULES.slice(1)] : PER_API_EAGER_MODULES;
    const eagerLabel = `eager: ${(googleapis.ok ? EAGER_MODULES : PER_API_EAGER_MODULES).join(' + ')}`;

    const loadBefore = loadavg()[0] as number;
    const nodeTimes: number[] = [];
    const imports = new Map<string, { wall: number[]; samples: ImportSample[] }>();
    const firstResponses = new Map<string, { listening: number[]; response: number[]; statuses: number[] }>();
    const steps = new Map<FunctionName, number[][]>();
    const importJob = (label: string, specifiers: readonly string[], preload: readonly string[] = []) => async () => {
      const { wallMs, result } = await runProbe<ImportSample>(importArgs(specifiers, preload), cwd);
      const entry = imports.get(label) ?? { wall: [], samples: [] };
      entry.wall.push(wallMs);
      entry.samples.push(result);
      imports.set(label, entry);
    };
    const firstResponseJob = (label: string, source: string, target: string) => async () => {
      const sample = await timeFirstResponse(source, target, cwd);
      const entry = firstResponses.get(label) ?? { listening: [], response: [], statuses: [] };
      entry.listening.push(sample.listeningMs);
      entry.response.push(sample.responseMs);
      entry.statuses.push(sample.status);
      firstResponses.set(label, entry);
    };
    const registryUrl = urlOf(path.join(build.outDir, 'shared', 'providers', 'registry.js'));
    const breakdownJob = (name: FunctionName) => async () => {
      const { result } = await runProbe<{ steps: number[] }>(['--input-type=module', '-e', stepProbe([...BREAKDOWN_STEPS, registryUrl, urlOf(compiledPath(name))])], cwd);
      steps.set(name, [...(steps.get(name) ?? []), result.steps]);
    };
    const jobs: (() => Promise<void>)[] = [
      async () => {
        nodeTimes.push((await timeNodeNoop(cwd)).wallMs);
      },
      importJob(eagerLabel, eagerModules),
      firstResponseJob('empty', path.join(build.dir, 'empty-function.js'), 'empty'),
      ...present.flatMap((name) => [
        importJob(`functions/${name}`, [urlOf(compiledPath(name))]),
        importJob(`after framework: functions/${name}`, [urlOf(compiledPath(name))], [frameworkServer]),
        // The package entry, as deployed: functions/index.js loads the one module FUNCTION_TARGET names.
        firstResponseJob(`functions/${name}`, path.join(build.outDir, 'functions', 'index.js'), name),
        breakdownJob(name),
      ]),
    ];
    log(`measuring: median of ${runs} fresh processes each, ${how}; ${eagerNote}`);
    await roundRobin(jobs, runs, log);
    const loadAfter = loadavg()[0] as number;

    const rowOf = (label: string): ColdStartRow => {
      const measured = imports.get(label);
      const first = firstResponses.get(label);
      return {
        label,
        processMs: median(measured?.wall ?? []),
        importMs: median(measured?.samples.map((sample) => sample.importMs) ?? []),
        importCpuMs: median(measured?.samples.map((sample) => sample.cpuMs) ?? []),
        heavyLoaded: measured?.samples.at(-1)?.heavy ?? [],
        ...(imports.has(`after framework: ${label}`) ? { importAfterFrameworkMs: median(imports.get(`after framework: ${label}`)?.samples.map((sample) => sample.importMs) ?? []) } : {}),
        ...(first
          ? { firstResponse: { listeningMs: median(first.listening), responseMs: median(first.response), statuses: [...new Set(first.statuses)], expectedStatus: FIRST_REQUESTS[label === 'empty' ? 'empty' : (label.slice('functions/'.length) as FunctionName)].status } }
          : {}),
      };
    };
    const eager = rowOf(eagerLabel);
    const empty = rowOf('empty');
    const rows: ColdStartRow[] = [
      { label: 'node -e 0', processMs: median(nodeTimes), importMs: 0, importCpuMs: 0, heavyLoaded: [] },
      eager,
      { ...empty, label: 'framework + empty function' },
      ...present.map((name) => rowOf(`functions/${name}`)),
    ];
    const breakdown = present.map((name): ColdStartBreakdown => {
      const samples = steps.get(name) ?? [];
      const stepsMs = (samples[0] ?? []).map((_, index) => median(samples.map((sample) => sample[index] as number)));
      return { name, stepsMs, totalMs: median(samples.map((sample) => sample.reduce((sum, value) => sum + value, 0))) };
    });
    const functionRows = rows.filter((row) => row.label.startsWith('functions/'));
    const missed = (meets: (row: ColdStartRow, eager: ColdStartRow) => boolean) => functionRows.filter((row) => !meets(row, eager)).map((row) => row.label);
    const verdictOf = (names: readonly string[]) => (names.length === 0 ? 'met by every function' : `MISSED by ${names.join(', ')}`);
    const lazyLoaded = functionRows.filter((row) => row.heavyLoaded.some((name) => LAZY_PACKAGES.includes(name))).map((row) => row.label);
    const verdict = [
      `target, import < 50 % of the eager import (${eager.importMs.toFixed(0)} ms → < ${(eager.importMs / 2).toFixed(0)} ms wall): ${verdictOf(missed(meetsColdStartTarget))}`,
      `same target on CPU time (${eager.importCpuMs.toFixed(0)} ms → < ${(eager.importCpuMs / 2).toFixed(0)} ms CPU): ${verdictOf(missed(meetsColdStartTargetOnCpu))}`,
      `heavy clients at import: ${lazyLoaded.length === 0 ? `none of ${LAZY_PACKAGES.join(', ')} (they load in the branches that use them)` : `LOADED by ${lazyLoaded.join(', ')}`}`,
      `import after framework: the function's module imported once the framework's server module (express, body parsing) is loaded, as the framework's main does in Cloud Run; the target columns use the plain import the issue names`,
      `first response: the framework started as Cloud Run starts it (PORT, FUNCTION_TARGET, functions/index.js), one request refused at the caller check; "over empty function" is what the broker adds to the framework's own start`,
      `load average (1 min) ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, ${runs} interleaved rounds on ${cpus().length} cores: a busy machine stretches wall times (all rows alike, not evenly); CPU times move less`,
    ];
    return {
      compiled,
      how,
      runs,
      eagerNote,
      rows,
      skipped,
      eager,
      breakdown,
      loadAverage: [loadBefore, loadAfter],
      table: formatColdStartTable(rows, eager),
      breakdownTable: formatBreakdownTable(breakdown),
      verdict,
    };
  } finally {
    await rm(build.dir, { recursive: true, force: true });
  }
}

/** Heavy clients that only some branches use: none may load when a function's module is imported. */
const LAZY_PACKAGES: readonly string[] = ['@google-cloud/kms', '@google-cloud/pubsub', '@google-cloud/scheduler', '@googleapis/gmail', 'googleapis', '@slack/web-api'];

async function timeNodeNoop(cwd: string): Promise<{ wallMs: number }> {
  const began = performance.now();
  await run(process.execPath, ['-e', '0'], { cwd, env: childEnv(), timeout: 60_000 });
  return { wallMs: performance.now() - began };
}

/** A function meets the target when its import takes less than half the eager import (wall time, as the issue states it). */
export function meetsColdStartTarget(row: ColdStartRow, eager: ColdStartRow): boolean {
  return row.importMs < eager.importMs / 2;
}

/** The same target on CPU time, which a busy shared machine distorts far less than wall time. */
export function meetsColdStartTargetOnCpu(row: ColdStartRow, eager: ColdStartRow): boolean {
  return row.importCpuMs < eager.importCpuMs / 2;
}

function renderTable(header: readonly string[], lines: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] as string).length)));
  const render = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] as number)).join('  ').trimEnd();
  return [render(header), render(widths.map((width) => '-'.repeat(width))), ...lines.map(render)].join('\n');
}

const percentOf = (value: number, whole: number) => `${((value / whole) * 100).toFixed(0)} %`;

function formatColdStartTable(rows: readonly ColdStartRow[], eager: ColdStartRow): string {
  const header = ['entry', 'import ms', 'vs eager', 'target < 50 %', 'import CPU ms', 'CPU vs eager', 'target on CPU', 'import after framework ms', 'listening ms', 'first response ms (status)', 'over empty function', 'heavy packages loaded at import'];
  const empty = rows.find((row) => row.label === 'framework + empty function')?.firstResponse;
  const lines = rows.map((row) => {
    const isFunction = row.label.startsWith('functions/');
    const first = row.firstResponse;
    const statuses = first ? first.statuses.map((status) => (status === first.expectedStatus ? String(status) : `${status}, expected ${first.expectedStatus}!`)).join('/') : '';
    const imported = row.label !== 'framework + empty function';
    return [
      row.label === 'node -e 0' ? `node -e 0 (whole process ${row.processMs.toFixed(0)} ms)` : row.label,
      imported && row.label !== 'node -e 0' ? row.importMs.toFixed(0) : '-',
      isFunction ? percentOf(row.importMs, eager.importMs) : '-',
      isFunction ? (meetsColdStartTarget(row, eager) ? 'met' : 'MISSED') : '-',
      imported && row.label !== 'node -e 0' ? row.importCpuMs.toFixed(0) : '-',
      isFunction ? percentOf(row.importCpuMs, eager.importCpuMs) : '-',
      isFunction ? (meetsColdStartTargetOnCpu(row, eager) ? 'met' : 'MISSED') : '-',
      row.importAfterFrameworkMs === undefined ? '-' : `${row.importAfterFrameworkMs.toFixed(0)} (${percentOf(row.importAfterFrameworkMs, eager.importMs)})`,
      first ? first.listeningMs.toFixed(0) : '-',
      first ? `${first.responseMs.toFixed(0)} (${statuses})` : '-',
      first && empty && isFunction ? `+${(first.responseMs - empty.responseMs).toFixed(0)}` : '-',
      row.heavyLoaded.join(', ') || '-',
    ];
  });
  return renderTable(header, lines);
}

function formatBreakdownTable(breakdown: readonly ColdStartBreakdown[]): string {
  const header = ['function', ...BREAKDOWN_STEPS.map((step) => step.replace('@google-cloud/', '')), 'provider catalog', "function's own modules", 'total ms'];
  const lines = breakdown.map((entry) => [entry.name, ...entry.stepsMs.map((ms) => ms.toFixed(0)), entry.totalMs.toFixed(0)]);
  return renderTable(header, lines);
}

/** The printed section: the main table, where the import goes, and the verdicts. */
export function coldStartLines(report: ColdStartReport): string[] {
  return [
    `Cold start — ${report.how}; median of ${report.runs} fresh processes per cell; ${report.eagerNote}`,
    report.table,
    '',
    'Where the import goes — ms of each step on top of the ones before it, in one fresh process each (median):',
    report.breakdownTable,
    ...report.verdict,
    ...(report.skipped.length > 0 ? [`skipped (no module yet): ${report.skipped.join(', ')}`] : []),
  ];
}

// `tsx bench/cold-start.ts` runs this benchmark alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const report = await runColdStartBenchmark(log);
  log('');
  for (const line of coldStartLines(report)) log(line);
}
