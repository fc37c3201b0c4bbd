// Gives tests and `npm start` a Firestore emulator: the one FIRESTORE_EMULATOR_HOST names, or the official JAR started on a free port.
import { findFirestoreEmulatorJar } from './firestore-emulator-jar.js';
import { REUSED_EMULATOR_WAIT_MS, waitForRunningEmulator, waitUntilServing, withEmulatorOutput } from './emulator-readiness.js';
import { findFreePort } from './free-port.js';
import { findJavaRuntime } from './java-runtime.js';
import { spawnOwnedProcess } from './owned-process.js';

export interface FirestoreEmulator {
  /** host:port, as FIRESTORE_EMULATOR_HOST expects it. */
  readonly host: string;
  /** True when this call started the emulator (and stop() ends it); false when an existing one was reused. */
  readonly started: boolean;
  /** The emulator JVM's process id (it leads its own process group); undefined when reused. */
  readonly pid: number | undefined;
  /** How long it took until the emulator answered, in milliseconds. */
  readonly startupMs: number;
  /** Ends an emulator this call started, with every process it spawned; a no-op for a reused one. */
  stop(): Promise<void>;
}

export interface FirestoreEmulatorOptions {
  /** Where FIRESTORE_EMULATOR_HOST, JAVA_HOME, PATH, HOME and CLOUDSDK_ROOT_DIR are read. Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Replaces the well-known Google Cloud SDK install locations searched for the JAR. */
  readonly sdkRoots?: readonly string[];
  /** How long the emulator may take to answer. Default 60 s: a JVM on a busy 2-core machine is slow. */
  readonly startTimeoutMs?: number;
  /** How long an emulator named by FIRESTORE_EMULATOR_HOST may take to answer (it may be starting too). Default 15 s. */
  readonly reuseTimeoutMs?: number;
}

export class FirestoreEmulatorUnavailableError extends Error {
  override readonly name = 'FirestoreEmulatorUnavailableError';
}

const mainClass = 'com.google.cloud.datastore.emulator.firestore.CloudFirestore';
const minimumJavaMajorVersion = 17;
const bindHost = '127.0.0.1';
const portAttempts = 3;
const pollIntervalMs = 100;

export const firestoreEmulatorInstallHint =
  'Install the official emulator with `apt-get install google-cloud-cli-firestore-emulator` ' +
  "(Debian package, from Google's Cloud SDK apt repository) or `gcloud components install cloud-firestore-emulator`, " +
  'or start one yourself and set FIRESTORE_EMULATOR_HOST=host:port.';



async function reuseRunningEmulator(host: string, timeoutMs: number): Promise<FirestoreEmulator> {
  const { probe: last, waitedMs } = await waitForRunningEmulator(host, timeoutMs);
  if (!last.ok) {
    throw new FirestoreEmulatorUnavailableError(
      `FIRESTORE_EMULATOR_HOST=${host} is set, but no Firestore emulator answers at http://${host}/ (${last.reason}). ` +
        'Start it there, or unset FIRESTORE_EMULATOR_HOST to let the tests start one.',
    );
  }
  return { host, started: false, pid: undefined, startupMs: waitedMs, stop: async () => {} };
}




export async function startFirestoreEmulator(options: FirestoreEmulatorOptions = {}): Promise<FirestoreEmulator> {
  const env = options.env ?? process.env;
  if (env.FIRESTORE_EMULATOR_HOST) {
    return reuseRunningEmulator(env.FIRESTORE_EMULATOR_HOST, options.reuseTimeoutMs ?? REUSED_EMULATOR_WAIT_MS);
  }

  const { jar, searched } = await findFirestoreEmulatorJar({ env, sdkRoots: options.sdkRoots });
  if (jar === undefined) {
    throw new FirestoreEmulatorUnavailableError(
      `No Firestore emulator: FIRESTORE_EMULATOR_HOST is unset and the emulator JAR is not installed. ${firestoreEmulatorInstallHint}\n` +
        `Searched: ${searched.join(', ')}`,
    );
  }
  const java = await findJavaRuntime(env, minimumJavaMajorVersion);
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;

  for (let attempt = 1; ; attempt += 1) {
    const startedAt = performance.now();
    const port = await findFreePort(bindHost);
    const host = `${bindHost}:${port}`;
    const child = spawnOwnedProcess(
      java.command,
      // English messages, as Google's wrapper script insists: the emulator only has those.
      ['-Duser.language=en', '-cp', jar, mainClass, '--host', bindHost, '--port', String(port)],
      { env: { ...env } },
    );
    const launch = await waitUntilServing(host, child, startTimeoutMs, pollIntervalMs);
    if (launch.kind === 'serving') {
      return {
        host,
        started: true,
        pid: child.pid,
        startupMs: performance.now() - startedAt,
        stop: () => child.stop(),
      };
    }
    if (launch.kind === 'timeout') {
      await child.stop();
      throw new FirestoreEmulatorUnavailableError(
        withEmulatorOutput(`The Firestore emulator (${jar}) did not answer at http://${host}/ within ${startTimeoutMs} ms.`, child),
      );
    }
    // Another process can take the free port between our probe and the JVM binding it: try a new one.
    if (attempt < portAttempts && /BindException|address already in use/i.test(child.outputTail())) continue;
    throw new FirestoreEmulatorUnavailableError(
      withEmulatorOutput(`The Firestore emulator (${jar}, run by ${java.command}) ${launch.description} before serving.`, child),
    );
  }
}
