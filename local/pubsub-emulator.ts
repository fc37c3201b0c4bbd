// Gives tests and `npm start` a Pub/Sub emulator: the one PUBSUB_EMULATOR_HOST names, or the official JAR started on a free port.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { wellKnownSdkRoots } from './firestore-emulator-jar.js';
import { REUSED_EMULATOR_WAIT_MS, waitForRunningEmulator, waitUntilServing, withEmulatorOutput } from './emulator-readiness.js';
import { findFreePort } from './free-port.js';
import { findJavaRuntime } from './java-runtime.js';
import { spawnOwnedProcess } from './owned-process.js';

export interface PubsubEmulator {
  /** host:port, as PUBSUB_EMULATOR_HOST expects it. */
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

export interface PubsubEmulatorOptions {
  /** Where PUBSUB_EMULATOR_HOST, JAVA_HOME, PATH, HOME and CLOUDSDK_ROOT_DIR are read. Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Replaces the well-known Google Cloud SDK install locations searched for the JAR. */
  readonly sdkRoots?: readonly string[];
  /** How long the emulator may take to answer. Default 60 s: a JVM on a busy 2-core machine is slow. */
  readonly startTimeoutMs?: number;
  /** How long an emulator named by PUBSUB_EMULATOR_HOST may take to answer. Default 5 s. */
  readonly reuseTimeoutMs?: number;
}

export class PubsubEmulatorUnavailableError extends Error {
  override readonly name = 'PubsubEmulatorUnavailableError';
}

const minimumJavaMajorVersion = 17;
const bindHost = '127.0.0.1';
const portAttempts = 3;
const pollIntervalMs = 100;
const libInsideSdk = join('platform', 'pubsub-emulator', 'lib');
// The Cloud SDK ships one fat JAR, e.g. cloud-pubsub-emulator-0.8.20-all.jar; firebase-tools unpacks the same.
const jarName = /^cloud-pubsub-emulator-(\d+(?:\.\d+)*)(?:-all)?\.jar$/;

export const pubsubEmulatorInstallHint =
  'Install the official emulator with `apt-get install google-cloud-cli-pubsub-emulator` ' +
  "(Debian package, from Google's Cloud SDK apt repository) or `gcloud components install pubsub-emulator`, " +
  'or start one yourself and set PUBSUB_EMULATOR_HOST=host:port.';


function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** The newest emulator JAR in one lib directory, or undefined. */
async function newestJarIn(directory: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return undefined;
  }
  const candidates = names
    .map((name) => ({ name, match: jarName.exec(name) }))
    .filter((entry): entry is { name: string; match: RegExpExecArray } => entry.match !== null)
    .map((entry) => ({ name: entry.name, version: (entry.match[1] ?? '').split('.').map(Number) }))
    .sort((a, b) => compareVersions(b.version, a.version));
  for (const { name } of candidates) {
    const path = join(directory, name);
    if ((await stat(path).catch(() => undefined))?.isFile()) return path;
  }
  return undefined;
}

/** firebase-tools unpacks the emulator into ~/.cache/firebase/emulators/pubsub-emulator-<version>/pubsub-emulator/lib. */
async function firebaseToolsLibDirectories(home: string): Promise<string[]> {
  const cache = join(home, '.cache', 'firebase', 'emulators');
  const names = await readdir(cache).catch(() => [] as string[]);
  return names.filter((name) => name.startsWith('pubsub-emulator-')).map((name) => join(cache, name, 'pubsub-emulator', 'lib'));
}

export interface PubsubJarSearchResult {
  readonly jar: string | undefined;
  /** Every directory looked at, in order, for the error message when nothing is found. */
  readonly searched: readonly string[];
}

export async function findPubsubEmulatorJar(
  env: Readonly<Record<string, string | undefined>>,
  sdkRoots: readonly string[] = wellKnownSdkRoots,
): Promise<PubsubJarSearchResult> {
  const roots = [...(env.CLOUDSDK_ROOT_DIR ? [env.CLOUDSDK_ROOT_DIR] : []), ...sdkRoots];
  if (env.HOME) roots.push(join(env.HOME, 'google-cloud-sdk'));
  const directories = roots.map((root) => join(root, libInsideSdk));
  if (env.HOME) directories.push(...(await firebaseToolsLibDirectories(env.HOME)));
  const searched: string[] = [];
  for (const directory of directories) {
    if (searched.includes(directory)) continue;
    searched.push(directory);
    const jar = await newestJarIn(directory);
    if (jar) return { jar, searched };
  }
  return { jar: undefined, searched };
}


async function reuseRunningEmulator(host: string, timeoutMs: number): Promise<PubsubEmulator> {
  const { probe: last, waitedMs } = await waitForRunningEmulator(host, timeoutMs);
  if (!last.ok) {
    throw new PubsubEmulatorUnavailableError(
      `PUBSUB_EMULATOR_HOST=${host} is set, but no Pub/Sub emulator answers at http://${host}/ (${last.reason}). ` +
        'Start it there, or unset PUBSUB_EMULATOR_HOST to let the tests start one.',
    );
  }
  return { host, started: false, pid: undefined, startupMs: waitedMs, stop: async () => {} };
}




export async function startPubsubEmulator(options: PubsubEmulatorOptions = {}): Promise<PubsubEmulator> {
  const env = options.env ?? process.env;
  if (env.PUBSUB_EMULATOR_HOST) {
    return reuseRunningEmulator(env.PUBSUB_EMULATOR_HOST, options.reuseTimeoutMs ?? REUSED_EMULATOR_WAIT_MS);
  }

  const { jar, searched } = await findPubsubEmulatorJar(env, options.sdkRoots);
  if (jar === undefined) {
    throw new PubsubEmulatorUnavailableError(
      `No Pub/Sub emulator: PUBSUB_EMULATOR_HOST is unset and the emulator JAR is not installed. ${pubsubEmulatorInstallHint}\n` +
        `Searched: ${searched.join(', ')}`,
    );
  }
  const java = await findJavaRuntime(env, minimumJavaMajorVersion).catch((error: unknown) => {
    throw new PubsubEmulatorUnavailableError(`The Pub/Sub emulator (${jar}) needs Java: ${(error as Error).message}`, { cause: error });
  });
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;

  for (let attempt = 1; ; attempt += 1) {
    const startedAt = performance.now();
    const port = await findFreePort(bindHost);
    const host = `${bindHost}:${port}`;
    // The JAR directly rather than Google's wrapper script: one JVM leads the process group, so stop() is exact.
    const child = spawnOwnedProcess(
      java.command,
      ['-Duser.language=en', '-jar', jar, `--host=${bindHost}`, `--port=${port}`],
      { env: { ...env } },
    );
    const launch = await waitUntilServing(host, child, startTimeoutMs, pollIntervalMs);
    if (launch.kind === 'serving') {
      return { host, started: true, pid: child.pid, startupMs: performance.now() - startedAt, stop: () => child.stop() };
    }
    if (launch.kind === 'timeout') {
      await child.stop();
      throw new PubsubEmulatorUnavailableError(
        withEmulatorOutput(`The Pub/Sub emulator (${jar}) did not answer at http://${host}/ within ${startTimeoutMs} ms.`, child),
      );
    }
    // Another process can take the free port between our probe and the JVM binding it: try a new one.
    if (attempt < portAttempts && /BindException|address already in use/i.test(child.outputTail())) continue;
    throw new PubsubEmulatorUnavailableError(
      withEmulatorOutput(`The Pub/Sub emulator (${jar}, run by ${java.command}) ${launch.description} before serving.`, child),
    );
  }
}
