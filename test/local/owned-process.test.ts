// Owned processes end as a whole group, also when they ignore SIGTERM, so no emulator outlives the test run.
import { describe, expect, it } from 'vitest';
import { spawnOwnedProcess } from '../../local/owned-process.js';
import { isProcessRunning, processEnds } from '../../local/process-liveness.js';

async function firstLine(read: () => string): Promise<string> {
  for (let i = 0; i < 100; i += 1) {
    const line = read().split('\n')[0];
    if (line && read().includes('\n')) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no output line: ${read()}`);
}

describe('spawnOwnedProcess', () => {
  it('stops the process and the processes it started', async () => {
    const owned = spawnOwnedProcess('/bin/sh', ['-c', 'sleep 300 & echo $!; wait']);
    const grandchild = Number(await firstLine(() => owned.outputTail()));
    expect(await isProcessRunning(grandchild)).toBe(true);

    await owned.stop();

    expect(await owned.exited).toMatchObject({ signal: 'SIGTERM' });
    expect(await processEnds(grandchild)).toBe(true);
  });

  it('kills a group that ignores SIGTERM once the grace period is over', async () => {
    const owned = spawnOwnedProcess('/bin/sh', ['-c', 'trap "" TERM; sleep 300 & echo $!; wait']);
    const grandchild = Number(await firstLine(() => owned.outputTail()));

    const startedAt = performance.now();
    await owned.stop(300);

    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(250);
    expect(await owned.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(await processEnds(grandchild)).toBe(true);
  });

  it('reports a command that cannot be started', async () => {
    const owned = spawnOwnedProcess('/nonexistent/command', []);

    const exit = await owned.exited;
    await owned.stop();

    expect(exit.error?.message).toMatch(/ENOENT/);
    expect(owned.hasExited()).toBe(true);
  });
});
