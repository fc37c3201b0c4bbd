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
