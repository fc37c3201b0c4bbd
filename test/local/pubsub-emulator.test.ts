// The Pub/Sub emulator launcher: reuses a running emulator, starts and fully stops the JAR, and says exactly what is missing when it cannot.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findFreePort } from '../../local/free-port.js';
import { isProcessRunning } from '../../local/process-liveness.js';
import { ensureSubscription, ensureTopic, pullExactly } from '../../local/pubsub-emulator-admin.js';
import { findPubsubEmulatorJar, PubsubEmulatorUnavailableError, startPubsubEmulator } from '../../local/pubsub-emulator.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'pubsub-emulator-test-'));
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

describe('startPubsubEmulator without an emulator installed', () => {
  it('names the Debian package, the gcloud component and PUBSUB_EMULATOR_HOST', async () => {
    const home = join(scratch, 'empty-home');
    await mkdir(home, { recursive: true });

    const error = await rejection(startPubsubEmulator({ env: { HOME: home, PATH: '' }, sdkRoots: [join(scratch, 'no-sdk')] }));

    expect(error).toBeInstanceOf(PubsubEmulatorUnavailableError);
    expect(error.message).toContain('apt-get install google-cloud-cli-pubsub-emulator');
    expect(error.message).toContain('gcloud components install pubsub-emulator');
    expect(error.message).toContain('PUBSUB_EMULATOR_HOST');
    expect(error.message).toContain(join(scratch, 'no-sdk', 'platform', 'pubsub-emulator', 'lib'));
  });

  it('reports a JAR that dies at start-up with its exit and its last output', async () => {
    const lib = join(scratch, 'broken-sdk', 'platform', 'pubsub-emulator', 'lib');
    await mkdir(lib, { recursive: true });
    await writeFile(join(lib, 'cloud-pubsub-emulator-0.8.20-all.jar'), '');

    const error = await rejection(
      startPubsubEmulator({ env: { PATH: process.env.PATH, HOME: scratch }, sdkRoots: [join(scratch, 'broken-sdk')] }),
    );

    expect(error).toBeInstanceOf(PubsubEmulatorUnavailableError);
    expect(error.message).toContain('exited with code 1 before serving');
    expect(error.message).toContain('cloud-pubsub-emulator-0.8.20-all.jar');
  });
});

describe('startPubsubEmulator with PUBSUB_EMULATOR_HOST', () => {
  it('reuses the emulator it names and leaves it running on stop', async () => {
    const host = inject('pubsubEmulatorHost');

    const emulator = await startPubsubEmulator({ env: { PUBSUB_EMULATOR_HOST: host } });
    await emulator.stop();

    expect(emulator).toMatchObject({ host, started: false, pid: undefined });
    expect(await answersOk(host)).toBe(true);
  });

  it('fails clearly when nothing answers there', async () => {
    const host = `127.0.0.1:${await findFreePort()}`;

    const error = await rejection(startPubsubEmulator({ env: { PUBSUB_EMULATOR_HOST: host }, reuseTimeoutMs: 500 }));

    expect(error).toBeInstanceOf(PubsubEmulatorUnavailableError);
    expect(error.message).toContain(`PUBSUB_EMULATOR_HOST=${host} is set, but no Pub/Sub emulator answers`);
  });
});

describe('startPubsubEmulator with the installed JAR', () => {
  it('starts a working emulator on a free loopback port and stops it without leaving a process', async () => {
    const emulator = await startPubsubEmulator({ env: { PATH: process.env.PATH, HOME: scratch } });
    const pid = emulator.pid;
    try {
      expect(emulator.started).toBe(true);
      expect(emulator.host).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(emulator.host).not.toBe(inject('pubsubEmulatorHost'));
      // It serves the Pub/Sub API, not just a health page: a message goes through.
      const topic = 'projects/launcher-test/topics/probe';
      const subscription = 'projects/launcher-test/subscriptions/probe';
      await ensureTopic(emulator.host, topic);
      await ensureSubscription(emulator.host, subscription, topic);
      const published = await fetch(`http://${emulator.host}/v1/${topic}:publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ data: Buffer.from('hello').toString('base64') }] }),
      });
      expect(published.status).toBe(200);
      const [message] = await pullExactly(emulator.host, subscription, 1, { settleMs: 0 });
      expect(message?.data).toBe('hello');
      // Start-up time, for the report: a JVM on a 2-core machine.
      process.stderr.write(`Pub/Sub emulator started in ${(emulator.startupMs / 1000).toFixed(1)} s\n`);
      expect(emulator.startupMs).toBeLessThan(60_000);
    } finally {
      await emulator.stop();
    }

    expect(await isProcessRunning(pid ?? 0)).toBe(false);
    expect(await answersOk(emulator.host)).toBe(false);
    await emulator.stop();
  });
});

describe('findPubsubEmulatorJar', () => {
  it('takes the newest JAR, preferring CLOUDSDK_ROOT_DIR over the well-known locations', async () => {
    const lib = join(scratch, 'custom-sdk', 'platform', 'pubsub-emulator', 'lib');
    await mkdir(lib, { recursive: true });
    for (const version of ['0.8.9', '0.8.20', '0.7.31']) await writeFile(join(lib, `cloud-pubsub-emulator-${version}-all.jar`), '');

    const { jar } = await findPubsubEmulatorJar({ CLOUDSDK_ROOT_DIR: join(scratch, 'custom-sdk'), PATH: '' }, [join(scratch, 'no-sdk')]);

    expect(jar).toBe(join(lib, 'cloud-pubsub-emulator-0.8.20-all.jar'));
  });

  it('finds the copy firebase-tools unpacked into its cache', async () => {
    const home = join(scratch, 'firebase-home');
    const lib = join(home, '.cache', 'firebase', 'emulators', 'pubsub-emulator-0.8.14', 'pubsub-emulator', 'lib');
    await mkdir(lib, { recursive: true });
    await writeFile(join(lib, 'cloud-pubsub-emulator-0.8.14.jar'), '');

    const { jar } = await findPubsubEmulatorJar({ HOME: home, PATH: '' }, []);

    expect(jar).toBe(join(lib, 'cloud-pubsub-emulator-0.8.14.jar'));
  });
});
