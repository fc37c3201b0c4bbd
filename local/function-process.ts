// Runs one function the way Cloud Run does: its own process, the compiled package (dist/) served by the Functions
// Framework's own command with FUNCTION_TARGET and K_SERVICE, NODE_ENV=production, and only the environment given.
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionName } from '../functions/names.js';
import { type OwnedProcess, spawnOwnedProcess } from './owned-process.js';

const require = createRequire(import.meta.url);
// The package exports its library, not its command: the command (functions-framework) sits beside the library's entry.
const frameworkCommand = join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
const loopbackPreload = fileURLToPath(new URL('./loopback-listen.js', import.meta.url));

export interface FunctionProcess {
  readonly name: FunctionName;
  readonly pid: number;
  /** The process's own origin (loopback); the stack's front proxy forwards /<name> here. */
  readonly origin: string;
  readonly process: OwnedProcess;
  stop(): Promise<void>;
}

export interface FunctionProcessOptions {
  readonly repoRoot: string;
  readonly name: FunctionName;
  readonly port: number;
  /** Exactly what the function is given; the platform's own variables are added here. */
  readonly env: Readonly<Record<string, string>>;
  /** The name Cloud Run would give the service (K_SERVICE). */
  readonly serviceName: string;
  readonly onLine?: (line: string) => void;
  readonly readyTimeoutMs?: number;
  /** Extra Node options before the command, such as `--cpu-prof` for the benchmark's profile of a function. */
  readonly nodeOptions?: readonly string[];
}

/** Whether the port accepts connections; a TCP connect, so no request reaches (and is logged by) the function. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startFunctionProcess(options: FunctionProcessOptions): Promise<FunctionProcess> {
  const env: Record<string, string> = {
    ...options.env,
    // What Cloud Run sets itself: the port, the service name, and (for functions) the target.
    PORT: String(options.port),
    K_SERVICE: options.serviceName,
    K_REVISION: `${options.serviceName}-local`,
    FUNCTION_TARGET: options.name,
    FUNCTION_SIGNATURE_TYPE: 'http',
    NODE_ENV: 'production',
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  };
  const child = spawnOwnedProcess(
    process.execPath,
    [...(options.nodeOptions ?? []), '--import', loopbackPreload, frameworkCommand, `--target=${options.name}`, '--signature-type=http', `--source=${options.repoRoot}`],
    { env, cwd: options.repoRoot, ...(options.onLine ? { onLine: options.onLine } : {}) },
  );
  const origin = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  while (!(await listening(options.port))) {
    if (child.hasExited() || Date.now() > deadline) {
      await child.stop();
      throw new Error(`The ${options.name} function did not start:\n${child.outputTail().trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { name: options.name, pid: child.pid as number, origin, process: child, stop: () => child.stop() };
}
