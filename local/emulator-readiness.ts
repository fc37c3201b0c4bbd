// Readiness of Google's emulators (Firestore, Pub/Sub): both answer `GET /` with "Ok" once they serve.
import type { OwnedProcess } from './owned-process.js';

export type Probe = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function probeEmulator(host: string): Promise<Probe> {
  try {
    const response = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.text()).trim();
    if (response.ok && body === 'Ok') return { ok: true };
    return { ok: false, reason: `answered HTTP ${response.status} "${body.slice(0, 80)}", not the emulator's "Ok"` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { ok: false, reason: cause?.code ?? (error as Error).message };
  }
}

/**
 * How long a run waits for an emulator named in the environment to answer before it says none does. 15 s: on a
 * 2-core machine with a second suite running beside the tests, the run's own emulators once took over 5 s to answer,
 * and test files failed to start though the emulators were up.
 */
export const REUSED_EMULATOR_WAIT_MS = 15_000;

/** Polls an emulator someone else started (FIRESTORE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST) until it answers. */
export async function waitForRunningEmulator(host: string, timeoutMs: number): Promise<{ probe: Probe; waitedMs: number }> {
  const startedAt = performance.now();
  const deadline = startedAt + timeoutMs;
  let last = await probeEmulator(host);
  while (!last.ok && performance.now() < deadline) {
    await sleep(250);
    last = await probeEmulator(host);
  }
  return { probe: last, waitedMs: performance.now() - startedAt };
}

export type Launch = { readonly kind: 'serving' } | { readonly kind: 'exited'; readonly description: string } | { readonly kind: 'timeout' };

/** Waits for an emulator this process started: serving, or dead (with how it died), or out of time. */
export async function waitUntilServing(host: string, child: OwnedProcess, timeoutMs: number, pollIntervalMs: number): Promise<Launch> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.hasExited()) {
      const exit = await child.exited;
      const description = exit.error
        ? `could not be started: ${exit.error.message}`
        : `exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}`;
      return { kind: 'exited', description };
    }
    if ((await probeEmulator(host)).ok) return { kind: 'serving' };
    if (performance.now() >= deadline) return { kind: 'timeout' };
    await sleep(pollIntervalMs);
  }
}

/** An error message with the last lines the emulator printed, which usually say why it failed. */
export function withEmulatorOutput(message: string, child: OwnedProcess): string {
  const tail = child.outputTail().trim().split('\n').slice(-25).join('\n');
  return tail ? `${message}\n--- emulator output (last lines) ---\n${tail}` : message;
}
