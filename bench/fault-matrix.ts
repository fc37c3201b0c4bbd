// Fault-matrix benchmark: every fault × every path through the real functions, printed as a table of expected and
// observed outcomes (docs/fault-matrix.md). The same cells and oracle as test/reliability/fault-matrix.test.ts.
//
// The matrix runs in a child process: the functions read their configuration once per process when they first
// load, and other benchmarks in `npm run bench` load them with configurations of their own.
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { matrixCells } from '../test/reliability/fault-matrix/cells.js';
import { startMatrixStack } from '../test/reliability/fault-matrix/matrix-stack.js';
import { renderResultTable } from '../test/reliability/fault-matrix/render-table.js';
import { type CellResult, runCell } from '../test/reliability/fault-matrix/run-cell.js';
import { startFirestoreEmulator } from '../local/firestore-emulator.js';

export interface FaultMatrixBenchmark {
  readonly table: string;
  /** Cells that did not end in their documented outcome or broke an invariant. */
  readonly failures: number;
}

/** The child's one line of output on stdout, after everything else it printed. */
const RESULT_PREFIX = 'fault-matrix-result ';
const CHILD_FLAG = '--fault-matrix-child';

export async function runFaultMatrixBenchmark(log: (line: string) => void): Promise<FaultMatrixBenchmark> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', script, CHILD_FLAG], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  let result: FaultMatrixBenchmark | undefined;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    const lines = stdout.split('\n');
    stdout = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(RESULT_PREFIX)) result = JSON.parse(line.slice(RESULT_PREFIX.length)) as FaultMatrixBenchmark;
      else log(line);
    }
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (stdout.startsWith(RESULT_PREFIX)) result = JSON.parse(stdout.slice(RESULT_PREFIX.length)) as FaultMatrixBenchmark;
  if (result === undefined) throw new Error(`the fault matrix process ended (exit code ${exitCode}) without a result`);
  return result;
}

/** Runs every cell in this process; `log` gets one progress line per cell. */
async function runMatrixHere(log: (line: string) => void): Promise<FaultMatrixBenchmark> {
  // Nothing in this process may probe a real metadata server.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const emulator = await startFirestoreEmulator();
  try {
    const stack = await startMatrixStack({ firestoreEmulatorHost: emulator.host, projectId: 'bench-fault-matrix' });
    const results: CellResult[] = [];
    try {
      for (const cell of matrixCells) {
        const result = await runCell(stack, cell);
        results.push(result);
        // The stack keeps stdout for the functions' log lines: progress goes to stderr.
        if (cell.applies) process.stderr.write(`  ${cell.fault} × ${cell.path}: ${result.ok ? 'ok' : 'FAIL'} (${result.durationMs} ms)\n`);
      }
    } finally {
      await stack.stop();
    }
    log(`${results.filter((result) => result.cell.applies).length} cells run, ${results.filter((result) => !result.cell.applies).length} not applicable`);
    return { table: renderResultTable(results), failures: results.filter((result) => !result.ok).length };
  } finally {
    await emulator.stop();
  }
}

const invokedDirectly = import.meta.url === pathToFileURL(process.argv[1] ?? '').href;
if (invokedDirectly && process.argv.includes(CHILD_FLAG)) {
  const result = await runMatrixHere((line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  // gRPC and the functions framework keep handles open; the matrix is done.
  process.exit(0);
} else if (invokedDirectly) {
  // `tsx bench/fault-matrix.ts` runs this benchmark alone.
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const { table, failures } = await runFaultMatrixBenchmark(log);
  log('Fault matrix — every fault × every path through the real functions (emulator, KMS stand-in, provider sandbox)');
  log(table);
  log(`target 0 failed cells: ${failures}  ${failures === 0 ? 'met' : 'MISSED'}`);
  process.exit(failures === 0 ? 0 : 1);
}
