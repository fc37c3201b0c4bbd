// Opens a @firebase/rules-unit-testing environment on the run's Firestore emulator, in a project of its own, with the given rules.
import { readFileSync } from 'node:fs';
import { type RulesTestEnvironment, initializeTestEnvironment } from '@firebase/rules-unit-testing';
import { setLogLevel } from 'firebase/app';
import { inject } from 'vitest';

/** The rules file the deployment ships (firebase.json names it), read from the repository root. */
export function readDeployedRules(): string {
  return readFileSync(new URL('../../firestore.rules', import.meta.url), 'utf8');
}

export async function startRulesTestEnvironment(projectId: string, rules: string): Promise<RulesTestEnvironment> {
  // The client SDK talks only to the emulator named below. With a hub variable set, the library would
  // first ask that hub where the emulators are; an explicit host must be the only place it looks.
  delete process.env.FIREBASE_EMULATOR_HUB;
  process.env.METADATA_SERVER_DETECTION = 'none';
  const emulatorHost = inject('firestoreEmulatorHost');
  if (!emulatorHost) {
    throw new Error('No Firestore emulator host was provided: run the tests through vitest.config.ts (its global setup starts one)');
  }
  const { hostname, port } = new URL(`http://${emulatorHost}`);
  // The SDK logs a warning for every denied request; here denials are the expected outcome, and a
  // screen of them would bury a real failure. Errors still print.
  setLogLevel('error');
  // Loading rules that do not compile fails here, with the emulator's message, before any test runs.
  return initializeTestEnvironment({ projectId, firestore: { host: hostname, port: Number(port), rules } });
}

/** Deletes the project's documents on the emulator, then closes every client the environment opened. */
export async function stopRulesTestEnvironment(environment: RulesTestEnvironment | undefined): Promise<void> {
  if (environment === undefined) return;
  try {
    await environment.clearFirestore();
  } finally {
    await environment.cleanup();
  }
}
