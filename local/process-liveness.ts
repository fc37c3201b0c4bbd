// Tells whether a process still runs, for tests that prove nothing was left behind.
import { readFile } from 'node:fs/promises';

/** False when gone or a zombie: a zombie runs no code and holds no port, and reaping orphans is PID 1's job. */
export async function isProcessRunning(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // /proc/PID/stat is "pid (command) state ..."; the command may itself contain parentheses.
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}

/**
 * Whether the process is gone within `withinMs`. A SIGKILL sent to a group is delivered as each member is next
 * scheduled, so on a loaded machine a killed process can look alive for a moment after its parent's exit.
 */
export async function processEnds(pid: number, withinMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (!(await isProcessRunning(pid))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
