// The emulator launcher: reuses a running emulator, starts and fully stops the JAR, and says exactly what is missing when it cannot.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findFirestoreEmulatorJar } from '../../local/firestore-emulator-jar.js';
import { FirestoreEmulatorUnavailableError, startFirestoreEmulator } from '../../local/firestore-emulator.js';
import { findFreePort } from '../../local/free-port.js';
import { parseJavaMajorVersion } from '../../local/java-runtime.js';
import { isProcessRunning } from '../../local/process-liveness.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'firestore-emulator-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function answersOk(host: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(2_000) });
    return response.ok && (await response.text()).trim() === 'Ok';
  } catch {
    return false;
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error,
  );
}

async function fakeExecutable(directory: string, name: string, script: string): Promise<string> {
  await mkdir(directory, { recursive: true });
  const path = join(directory, name);
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
  return path;
}

describe('startFirestoreEmulator without an emulator installed', () => {
  it('names the package to install, the gcloud component and FIRESTORE_EMULATOR_HOST', async () => {
    const home = join(scratch, 'empty-home');
    await mkdir(home, { recursive: true });

    const error = await rejection(
      startFirestoreEmulator({ env: { HOME: home, PATH: '' }, sdkRoots: [join(scratch, 'no-sdk')] }),
    );

    expect(error).toBeInstanceOf(FirestoreEmulatorUnavailableError);
    expect(error.message).toContain('apt-get install google-cloud-cli-firestore-emulator');
    expect(error.message).toContain('gcloud components install cloud-firestore-emulator');
    expect(error.message).toContain('FIRESTORE_EMULATOR_HOST');
    expect(error.message).toContain(join(scratch, 'no-sdk', 'platform', 'cloud-firestore-emulator'));
  });

  it('says which Java it needs when the one found is too old', async () => {
    const javaHome = join(scratch, 'old-java');
    await fakeExecutable(join(javaHome, 'bin'), 'java', `echo 'openjdk version "11.0.2" 2019-01-15' >&2`);

    const error = await rejection(startFirestoreEmulator({ env: { JAVA_HOME: javaHome, PATH: '', HOME: scratch } }));

    expect(error.message).toMatch(/needs Java 17 or newer, but .* is Java 11/);
    expect(error.message).toContain('apt-get install openjdk-17-jre-headless');
  });

  it('says so when there is no Java at all', async () => {
    const error = await rejection(startFirestoreEmulator({ env: { PATH: '', HOME: scratch } }));

    expect(error.message).toMatch(/Java 17\+ is needed .* no `java` was found/);
  });

  it('reports a JAR that dies at start-up with its exit and its last output', async () => {
    const sdk = join(scratch, 'broken-sdk');
    await mkdir(join(sdk, 'platform', 'cloud-firestore-emulator'), { recursive: true });
    await writeFile(join(sdk, 'platform', 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar'), '');

    const error = await rejection(
      startFirestoreEmulator({ env: { PATH: process.env.PATH, HOME: scratch }, sdkRoots: [sdk] }),
    );

    expect(error).toBeInstanceOf(FirestoreEmulatorUnavailableError);
    expect(error.message).toContain('exited with code 1 before serving');
    expect(error.message).toContain('com.google.cloud.datastore.emulator.firestore.CloudFirestore');
  });
});

describe('startFirestoreEmulator with FIRESTORE_EMULATOR_HOST', () => {
  it('reuses the emulator it names and leaves it running on stop', async () => {
    const host = inject('firestoreEmulatorHost');

    const emulator = await startFirestoreEmulator({ env: { FIRESTORE_EMULATOR_HOST: host } });
    await emulator.stop();

    expect(emulator).toMatchObject({ host, started: false, pid: undefined });
    expect(await answersOk(host)).toBe(true);
  });

  it('fails clearly when nothing answers there', async () => {
    const host = `127.0.0.1:${await findFreePort()}`;

    const error = await rejection(
      startFirestoreEmulator({ env: { FIRESTORE_EMULATOR_HOST: host }, reuseTimeoutMs: 500 }),
    );

    expect(error).toBeInstanceOf(FirestoreEmulatorUnavailableError);
    expect(error.message).toContain(`FIRESTORE_EMULATOR_HOST=${host} is set, but no Firestore emulator answers`);
  });
});

describe('startFirestoreEmulator with the installed JAR', () => {
  it('starts an emulator on a free loopback port and stops it without leaving a process', async () => {
    const emulator = await startFirestoreEmulator({ env: { PATH: process.env.PATH, HOME: scratch } });
    const pid = emulator.pid;
    try {
      expect(emulator.started).toBe(true);
      expect(emulator.host).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(emulator.host).not.toBe(inject('firestoreEmulatorHost'));
      expect(await answersOk(emulator.host)).toBe(true);
      expect(pid).toBeTypeOf('number');
    } finally {
      await emulator.stop();
    }

    expect(await isProcessRunning(pid ?? 0)).toBe(false);
    expect(await answersOk(emulator.host)).toBe(false);
    await emulator.stop();
  });
});

describe('findFirestoreEmulatorJar', () => {
  it('takes the newest JAR from the firebase-tools cache when no SDK has one', async () => {
    const home = join(scratch, 'firebase-home');
    const cache = join(home, '.cache', 'firebase', 'emulators');
    await mkdir(cache, { recursive: true });
    for (const version of ['1.9.0', '1.19.7', '1.2.30']) {
      await writeFile(join(cache, `cloud-firestore-emulator-v${version}.jar`), '');
    }

    const { jar } = await findFirestoreEmulatorJar({ env: { HOME: home, PATH: '' }, sdkRoots: [] });

    expect(jar).toBe(join(cache, 'cloud-firestore-emulator-v1.19.7.jar'));
  });

  it('prefers CLOUDSDK_ROOT_DIR over the well-known locations', async () => {
    const sdk = join(scratch, 'custom-sdk');
    const expected = join(sdk, 'platform', 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar');
    await mkdir(join(sdk, 'platform', 'cloud-firestore-emulator'), { recursive: true });
    await writeFile(expected, '');

    const { jar } = await findFirestoreEmulatorJar({ env: { CLOUDSDK_ROOT_DIR: sdk, PATH: '' } });

    expect(jar).toBe(expected);
  });
});

describe('parseJavaMajorVersion', () => {
  it('reads modern and legacy version strings', () => {
    expect(parseJavaMajorVersion('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(parseJavaMajorVersion('openjdk version "21" 2023-09-19')).toBe(21);
    expect(parseJavaMajorVersion('java version "1.8.0_392"')).toBe(8);
    expect(parseJavaMajorVersion('no version here')).toBeUndefined();
  });
});
