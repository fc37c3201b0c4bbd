// Runs a child process in its own process group that cannot outlive this one: stop() ends the whole group.
import { type ChildProcess, spawn } from 'node:child_process';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  readonly error?: Error;
}

export interface OwnedProcess {
  readonly pid: number | undefined;
  /** Resolves once the process has exited (and been reaped), or failed to start. */
  readonly exited: Promise<ProcessExit>;
  hasExited(): boolean;
  /** The last lines the process wrote to stdout and stderr, interleaved, for error messages. */
  outputTail(): string;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when the process is gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface OwnedProcessOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** How much output to keep for outputTail(). */
  readonly outputTailBytes?: number;
  /** Called with each complete line the process writes to stdout or stderr. */
  readonly onLine?: (line: string) => void;
}

/** Splits a stream's chunks into lines, keeping a partial last line until it ends. */
function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let partial = '';
  return (chunk) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
}

const defaultGraceMs = 5_000;
const killWaitMs = 5_000;
const interruptSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

// A guard outside our process: if this Node process dies without running any handler (SIGKILL, OOM),
// the pipe to the guard's stdin closes, its `read` returns, and it ends the group. $1 is the group id.
const watchdogScript = [
  'read -r _ || :',
  'kill -s TERM -- "-$1" 2>/dev/null || exit 0',
  'sleep 5',
  'kill -s KILL -- "-$1" 2>/dev/null',
  'exit 0',
].join('\n');

/**
 * One set of exit and signal hooks for every live child (a stack runs a dozen), rather than a set each: each child
 * would otherwise add its own listeners, past Node's warning threshold.
 */
const liveProcessKillers = new Set<() => void>();
const killAllLive = (): void => {
  for (const kill of liveProcessKillers) kill();
};
const onSignal = (signal: NodeJS.Signals): void => {
  killAllLive();
  uninstallProcessHooks();
  // Listening for a signal disables Node's default of exiting; restore it when nobody else decides.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
};
let hooksInstalled = false;
function installProcessHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllLive);
  for (const signal of interruptSignals) process.on(signal, onSignal);
}
function uninstallProcessHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off('exit', killAllLive);
  for (const signal of interruptSignals) process.off(signal, onSignal);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // A negative pid addresses the process group the child leads (it was spawned detached).
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function keepTail(limit: number): { push(chunk: Buffer): void; text(): string } {
  let tail = Buffer.alloc(0);
  return {
    push(chunk) {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > limit) tail = tail.subarray(tail.length - limit);
    },
    text: () => tail.toString('utf8'),
  };
}

function waitFor<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function spawnOwnedProcess(
  command: string,
  args: readonly string[],
  options: OwnedProcessOptions = {},
): OwnedProcess {
  const tail = keepTail(options.outputTailBytes ?? 8_192);
  const child: ChildProcess = spawn(command, args, {
    env: options.env,
    cwd: options.cwd,
    // detached: the child leads a new process group (and session), so one kill reaches everything it
    // starts, and a Ctrl-C meant for the test runner does not hit it before we can stop it in order.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Both streams must be drained, or the child blocks once a pipe buffer fills.
  child.stdout?.on('data', (chunk: Buffer) => tail.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
  if (options.onLine) {
    child.stdout?.on('data', lineSplitter(options.onLine));
    child.stderr?.on('data', lineSplitter(options.onLine));
  }

  let exitedFlag = false;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('error', (error) => {
      // 'error' without a pid means the spawn itself failed; with a pid, 'exit' still follows.
      if (child.pid === undefined) {
        exitedFlag = true;
        resolve({ code: null, signal: null, error });
      }
    });
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
  });

  const pid = child.pid;
  let watchdog: ChildProcess | undefined;
  const killNow = (): void => {
    if (pid !== undefined && !exitedFlag) signalGroup(pid, 'SIGKILL');
  };
  const removeHooks = (): void => {
    liveProcessKillers.delete(killNow);
    if (liveProcessKillers.size === 0) uninstallProcessHooks();
  };

  if (pid !== undefined) {
    liveProcessKillers.add(killNow);
    installProcessHooks();
    watchdog = spawn('/bin/sh', ['-c', watchdogScript, 'owned-process-watchdog', String(pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.on('error', () => {
      // The guard is a second line of defence; the exit and signal hooks above still apply.
    });
  }

  void exited.then(() => {
    removeHooks();
    // Only now: a guard left running would signal the group (or a later one with the same id) on exit.
    watchdog?.kill('SIGKILL');
  });

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = defaultGraceMs): Promise<void> => {
    stopping ??= (async () => {
      if (pid !== undefined && !exitedFlag) {
        signalGroup(pid, 'SIGTERM');
        if ((await waitFor(exited, graceMs)) === 'timeout') {
          signalGroup(pid, 'SIGKILL');
          if ((await waitFor(exited, killWaitMs)) === 'timeout') {
            throw new Error(`Process ${pid} (${command}) did not exit after SIGKILL`);
          }
        }
      }
      await exited;
    })();
    return stopping;
  };

  return {
    pid,
    exited,
    hasExited: () => exitedFlag,
    outputTail: () => tail.text(),
    stop,
  };
}
