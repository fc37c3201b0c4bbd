import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { isProcessRunning } from '../../local/process-liveness.js';
import { recordLogLine } from '../../local/leak-ledger/leak-recorder.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('npm start', () => {
  // How fast it starts is a figure `npm start` prints ("Ready in N s"), not a timed assertion: a shared
  // 2-core machine running other suites makes start-up times flake.
  it('brings the stack up, describes it in stack.json, and stops everything on Ctrl-C', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'broker-start-'));
    // The run's Pub/Sub emulator, as a developer's own would be reused; a second JVM would only slow the other files.
    const env: Record<string, string | undefined> = { ...process.env, PORT: '0', OAUTH_BROKER_STATE_DIR: stateDir, PUBSUB_EMULATOR_HOST: inject('pubsubEmulatorHost') };
    // Its own Firestore emulator, so the test sees the JVM started and stopped.
    delete env.FIRESTORE_EMULATOR_HOST;
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await expect
        .poll(() => output, { timeout: 90_000, interval: 100 })
        .toMatch(/Ready in \d+\.\d s/);

      const stack = JSON.parse(await readFile(join(stateDir, 'stack.json'), 'utf8')) as { firestoreEmulatorHost: string };
      expect(output).toContain(`Firestore emulator  ${stack.firestoreEmulatorHost} (started in`);
      const emulator = await fetch(`http://${stack.firestoreEmulatorHost}/`);
      expect(await emulator.text()).toContain('Ok');

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(output).toContain('Stopped.');
      await expect(fetch(`http://${stack.firestoreEmulatorHost}/`)).rejects.toThrow();
    } finally {
      if (child.pid && (await isProcessRunning(child.pid))) child.kill('SIGKILL');
      // Whole lines, once the child is gone: a chunk boundary must not split a secret the leak check looks for.
      for (const line of output.split('\n')) if (line.length > 0) recordLogLine('child npm start', line);
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 120_000);
});
