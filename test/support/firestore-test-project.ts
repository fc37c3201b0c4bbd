// Gives one test file its own Firestore project on the shared emulator, so files running in parallel never see each other's data.
import { randomBytes } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, inject } from 'vitest';
import { type Config, loadConfig } from '../../shared/config/config.js';
import { createFirestore } from '../../shared/store/firestore-client.js';
import { noteFirestoreProject, recordStoredDocuments } from '../../local/leak-ledger/leak-recorder.js';

export interface FirestoreTestProject {
  readonly projectId: string;
  readonly config: Config;
  readonly firestore: Firestore;
  /** Deletes every document of this project (and only this project) on the emulator. */
  clear(): Promise<void>;
}

export interface FirestoreTestProjectOptions {
  /** More variables for loadConfig, e.g. LOG_LEVEL; the project and emulator host are always set. */
  readonly env?: Readonly<Record<string, string>>;
}

// GCP project ids: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter.
const maxProjectIdLength = 30;
const randomSuffixLength = 8;

export function testProjectId(label: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(label)) {
    throw new TypeError(`Test project label "${label}" must be lowercase letters, digits and hyphens, starting with a letter`);
  }
  const room = maxProjectIdLength - 'test-'.length - 1 - randomSuffixLength;
  const trimmed = label.slice(0, room).replace(/-+$/, '');
  const suffix = randomBytes(randomSuffixLength).toString('hex').slice(0, randomSuffixLength);
  const projectId = `test-${trimmed}-${suffix}`;
  // Whatever is still stored in it when the run ends is searched by the whole-run leak check.
  noteFirestoreProject(projectId);
  return projectId;
}

/** The emulator's own endpoint for wiping a database; the client library has no such call. */
export async function clearEmulatorProject(emulatorHost: string, projectId: string, databaseId = '(default)'): Promise<void> {
  // What was stored goes into the leak ledger first: the whole-run leak check searches every document a test left.
  await recordStoredDocuments(emulatorHost, projectId, databaseId);
  await wipeEmulatorProject(emulatorHost, projectId, databaseId);
}

async function wipeEmulatorProject(emulatorHost: string, projectId: string, databaseId: string): Promise<void> {
  const url = `http://${emulatorHost}/emulator/v1/projects/${encodeURIComponent(projectId)}/databases/${encodeURIComponent(databaseId)}/documents`;
  const response = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(30_000) });
  if (!response.ok) {
    throw new Error(`Clearing ${projectId} on the Firestore emulator failed: HTTP ${response.status} ${await response.text()}`);
  }
}

/** Call at the top level of a test file: registers the beforeAll/afterAll that create, clear and close it. */
export function useFirestoreTestProject(label: string, options: FirestoreTestProjectOptions = {}): FirestoreTestProject {
  const projectId = testProjectId(label);
  let state: { config: Config; firestore: Firestore; emulatorHost: string } | undefined;

  const ready = (): { config: Config; firestore: Firestore; emulatorHost: string } => {
    if (state === undefined) {
      throw new Error(`Firestore test project ${projectId} is used outside its tests: read it inside a test or hook`);
    }
    return state;
  };

  beforeAll(async () => {
    // google-gax asks google-auth-library for a universe domain even over an insecure emulator channel,
    // which probes the GCE metadata server (169.254.169.254): tests reach nothing but loopback.
    process.env.METADATA_SERVER_DETECTION = 'none';
    const emulatorHost = inject('firestoreEmulatorHost');
    if (!emulatorHost) {
      throw new Error('No Firestore emulator host was provided: run the tests through vitest.config.ts (its global setup starts one)');
    }
    const config = loadConfig({ ...options.env, GOOGLE_CLOUD_PROJECT: projectId, FIRESTORE_EMULATOR_HOST: emulatorHost });
    // A project id minted for this file a moment ago holds nothing yet: no need to record it for the leak check.
    await wipeEmulatorProject(emulatorHost, projectId, config.firestore.databaseId);
    state = { config, firestore: createFirestore(config), emulatorHost };
  });

  afterAll(async () => {
    const current = state;
    state = undefined;
    if (current === undefined) return;
    try {
      await clearEmulatorProject(current.emulatorHost, projectId, current.config.firestore.databaseId);
    } finally {
      await current.firestore.terminate();
    }
  });

  return {
    projectId,
    get config() {
      return ready().config;
    },
    get firestore() {
      return ready().firestore;
    },
    clear: async () => {
      const { config, emulatorHost } = ready();
      await clearEmulatorProject(emulatorHost, projectId, config.firestore.databaseId);
    },
  };
}
