// Vitest global setup: one Firestore emulator for the whole run, its host handed to every test file.
import type { TestProject } from 'vitest/node';
import { type FirestoreEmulator, startFirestoreEmulator } from './firestore-emulator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the Firestore emulator the run uses (FIRESTORE_EMULATOR_HOST format). */
    firestoreEmulatorHost: string;
  }
}

let emulator: FirestoreEmulator | undefined;

export async function setup(project: TestProject): Promise<void> {
  emulator = await startFirestoreEmulator();
  const how = emulator.started ? `started in ${(emulator.startupMs / 1000).toFixed(1)} s` : 'reused (FIRESTORE_EMULATOR_HOST)';
  process.stderr.write(`Firestore emulator at ${emulator.host}, ${how}\n`);
  project.provide('firestoreEmulatorHost', emulator.host);
}

export async function teardown(): Promise<void> {
  const running = emulator;
  emulator = undefined;
  await running?.stop();
}
