// Vitest global setup: one Firestore emulator and one Pub/Sub emulator for the whole run, their hosts handed to every test file.
import type { TestProject } from 'vitest/node';
import { type FirestoreEmulator, startFirestoreEmulator } from '../../local/firestore-emulator.js';
import { type PubsubEmulator, startPubsubEmulator } from '../../local/pubsub-emulator.js';
import { ensureFunctionsBuilt } from '../../local/function-build.js';
import { beginLeakLedger, finishLeakLedger } from './leak-ledger/run-leak-ledger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the Firestore emulator the run uses (FIRESTORE_EMULATOR_HOST format). */
    firestoreEmulatorHost: string;
    /** host:port of the Pub/Sub emulator the run uses (PUBSUB_EMULATOR_HOST format). */
    pubsubEmulatorHost: string;
  }
}

let emulator: FirestoreEmulator | undefined;
let pubsub: PubsubEmulator | undefined;

export async function setup(project: TestProject): Promise<void> {
  // Before any worker starts: they inherit the ledger directory through the environment.
  beginLeakLedger({ root: project.config.root, setupFiles: project.config.setupFiles });
  // Both JVMs boot in parallel: the run waits for the slower one, not for their sum. dist/ is built meanwhile, once,
  // before any worker starts a production-shaped stack from it (two workers must not build it at once).
  const building = ensureFunctionsBuilt(project.config.root);
  building.catch(() => undefined);
  const pubsubStarting = startPubsubEmulator();
  // Handled here so a Firestore failure below does not leave an unhandled rejection (or a running JVM) behind.
  const pubsubOutcome = pubsubStarting.then(
    (started) => ({ started }),
    (error: unknown) => ({ error }),
  );
  try {
    emulator = await startFirestoreEmulator();
  } catch (error) {
    const outcome = await pubsubOutcome;
    if ('started' in outcome) await outcome.started.stop();
    throw error;
  }
  const how = emulator.started ? `started in ${(emulator.startupMs / 1000).toFixed(1)} s` : 'reused (FIRESTORE_EMULATOR_HOST)';
  process.stderr.write(`Firestore emulator at ${emulator.host}, ${how}\n`);
  project.provide('firestoreEmulatorHost', emulator.host);

  const outcome = await pubsubOutcome;
  if ('error' in outcome) {
    await stopEmulators();
    throw outcome.error;
  }
  pubsub = outcome.started;
  try {
    const build = await building;
    process.stderr.write(build.built ? `Built dist/ in ${(build.ms / 1000).toFixed(1)} s\n` : 'dist/ is up to date\n');
  } catch (error) {
    await stopEmulators();
    throw error;
  }
  const pubsubHow = pubsub.started ? `started in ${(pubsub.startupMs / 1000).toFixed(1)} s` : 'reused (PUBSUB_EMULATOR_HOST)';
  process.stderr.write(`Pub/Sub emulator at ${pubsub.host}, ${pubsubHow}\n`);
  project.provide('pubsubEmulatorHost', pubsub.host);
}

/** Runs after every test file: the whole-run leak check (it still needs the emulator), then the emulators stop. */
export async function teardown(): Promise<void> {
  try {
    await finishLeakLedger(emulator?.host);
  } finally {
    await stopEmulators();
  }
}

async function stopEmulators(): Promise<void> {
  const running = [emulator, pubsub];
  emulator = undefined;
  pubsub = undefined;
  await Promise.all(running.map((started) => started?.stop()));
}
