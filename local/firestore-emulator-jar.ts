// Finds the official Cloud Firestore emulator JAR where the Google Cloud SDK or firebase-tools put it.
import { execFile } from 'node:child_process';
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from './executable-lookup.js';

const execFileAsync = promisify(execFile);

const jarInsideSdk = join('platform', 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar');

/** Where Debian/RPM packages, the tarball installer, snaps and Homebrew put the Google Cloud SDK. */
export const wellKnownSdkRoots: readonly string[] = [
  '/usr/lib/google-cloud-sdk',
  '/usr/share/google-cloud-sdk',
  '/opt/google-cloud-sdk',
  '/usr/local/google-cloud-sdk',
  '/snap/google-cloud-cli/current',
  '/snap/google-cloud-sdk/current',
  '/opt/homebrew/share/google-cloud-sdk',
  '/usr/local/share/google-cloud-sdk',
];

export interface JarSearchOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Replaces wellKnownSdkRoots (the env-derived roots are still searched). */
  readonly sdkRoots?: readonly string[];
}

export interface JarSearchResult {
  readonly jar: string | undefined;
  /** Every place looked at, in order, for the error message when nothing is found. */
  readonly searched: readonly string[];
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** firebase-tools downloads versioned JARs (cloud-firestore-emulator-v1.19.7.jar); the newest wins. */
async function newestFirebaseToolsJar(directory: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return undefined;
  }
  const versioned = names
    .map((name) => ({ name, match: /^cloud-firestore-emulator-v(\d+(?:\.\d+)*)\.jar$/.exec(name) }))
    .filter((entry): entry is { name: string; match: RegExpExecArray } => entry.match !== null)
    .map((entry) => ({ name: entry.name, version: (entry.match[1] ?? '').split('.').map(Number) }))
    .sort((a, b) => compareVersions(b.version, a.version));
  for (const { name } of versioned) {
    const path = join(directory, name);
    if (await isFile(path)) return path;
  }
  return undefined;
}

/** The SDK root that a `gcloud` on PATH belongs to: ROOT/bin/gcloud, often behind a symlink. */
async function sdkRootOfGcloud(gcloud: string, _env: JarSearchOptions['env']): Promise<string | undefined> {
  try {
    return dirname(dirname(await realpath(gcloud)));
  } catch {
    return undefined;
  }
}

async function sdkRootFromGcloudInfo(gcloud: string, env: JarSearchOptions['env']): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(gcloud, ['info', '--format=value(installation.sdk_root)'], {
      env: { ...env },
      timeout: 20_000,
    });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function findFirestoreEmulatorJar(options: JarSearchOptions): Promise<JarSearchResult> {
  const { env } = options;
  const searched: string[] = [];
  const tryPath = async (path: string): Promise<string | undefined> => {
    if (searched.includes(path)) return undefined;
    searched.push(path);
    return (await isFile(path)) ? path : undefined;
  };

  const roots = [...(env.CLOUDSDK_ROOT_DIR ? [env.CLOUDSDK_ROOT_DIR] : []), ...(options.sdkRoots ?? wellKnownSdkRoots)];
  if (env.HOME) roots.push(join(env.HOME, 'google-cloud-sdk'));
  for (const root of roots) {
    const jar = await tryPath(join(root, jarInsideSdk));
    if (jar) return { jar, searched };
  }

  if (env.HOME) {
    const cacheDirectory = join(env.HOME, '.cache', 'firebase', 'emulators');
    searched.push(join(cacheDirectory, 'cloud-firestore-emulator-v*.jar'));
    const jar = await newestFirebaseToolsJar(cacheDirectory);
    if (jar) return { jar, searched };
  }

  // Last, and only now because `gcloud info` takes a second or two: ask an installed gcloud.
  const gcloud = await findExecutable('gcloud', env.PATH);
  if (gcloud) {
    for (const findRoot of [sdkRootOfGcloud, sdkRootFromGcloudInfo]) {
      const root = await findRoot(gcloud, env);
      if (root === undefined) continue;
      const jar = await tryPath(join(root, jarInsideSdk));
      if (jar) return { jar, searched };
    }
  }
  return { jar: undefined, searched };
}
