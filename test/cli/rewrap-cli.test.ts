// The must-show of issue 7: the CLI re-wraps 1,000 connections after a KMS rotation, shows progress, stops
// at a batch boundary when interrupted, and `rewrap --resume` finishes the job — every wrapped key moved to
// the new key version, no ciphertext touched.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import { createVault } from '../../shared/crypto/vault.js';
import { openCredentials } from '../../shared/store/connection-credentials.js';
import { sealedBlobSchema, type SealedBlob } from '../../shared/crypto/sealed-blob.js';
import { systemClock } from '../../shared/time/clock.js';
import { type AdminHarness, KEY_NAME, OPERATOR, startAdminHarness } from '../functions/admin-harness.js';
import { type BulkConnections, writeBulkConnections } from './bulk-connections.js';
import { runCliInProcess } from './cli-runner.js';

const COUNT = 1000;
const TENANT = 'tenant-rewrap';

let h: AdminHarness;
let bulk: BulkConnections;

// The function commits each re-wrap in its own transaction, and the emulator runs transactions one at a time
// (~15 ms each on an idle machine, 40+ ms when other suites share the two cores): 1,000 of them set the pace.
const REWRAP_TEST_TIMEOUT_MS = 180_000;

beforeAll(async () => {
  h = await startAdminHarness('cli-rewrap');
  bulk = await writeBulkConnections(h.firestore, h.vault, COUNT, TENANT);
}, REWRAP_TEST_TIMEOUT_MS);
afterAll(async () => {
  await h?.stop();
});

async function sealedBlobs(): Promise<Map<string, SealedBlob>> {
  const snapshot = await h.firestore.collection('connections').get();
  return new Map(snapshot.docs.map((doc) => [doc.id, sealedBlobSchema.parse(doc.get('credentials'))]));
}

it('re-wraps 1,000 connections with a progress bar, survives an interruption, and resumes to the end', async () => {
  const url = `${h.origin}/admin`;
  const run = async (argv: string[], options: Parameters<typeof runCliInProcess>[1] = {}) =>
    runCliInProcess([...argv, '--url', url, '--id-token', await h.idTokens.mint({ email: OPERATOR, audience: url })], options);
  const before = await sealedBlobs();
  expect(before.size).toBe(COUNT);
  const oldVersion = before.values().next().value?.kmsKeyVersion;
  expect(oldVersion).toMatch(/cryptoKeyVersions\/1$/);
  const newVersion = h.kms.rotate(KEY_NAME);

  // First run: Ctrl-C (the signal) once 300 connections are done.
  const interrupt = new AbortController();
  const progress: number[] = [];
  const first = await run(['rewrap', '--batch-size', '100'], {
    signal: interrupt.signal,
    onStderr: (text) => {
      const done = /\] +\d+% (\d+)\/1000/.exec(text)?.[1];
      if (done === undefined) return;
      progress.push(Number(done));
      if (Number(done) >= 300) interrupt.abort();
    },
  });
  expect(first.code, first.stderr).toBe(130);
  expect(progress).toEqual([100, 200, 300]);
  expect(first.stderr).toMatch(/^\[#########\.{21}\]  30% 300\/1000  re-wrapped 300, already current 0, no credentials 0, failed 0$/m);
  expect(first.stderr).toContain('Stopping after the current batch');
  const jobId = /Resume with: oauth-broker rewrap --resume (rewrap_[0-9a-f-]{36})/.exec(first.stderr)?.[1];
  expect(jobId, first.stderr).toBeDefined();
  expect(first.stdout).toMatch(/^Re-wrap job rewrap_\S+ stopped\./);

  // Stopped at a batch boundary, saved: 300 moved, 700 untouched, the job waiting.
  const midway = await sealedBlobs();
  expect([...midway.values()].filter((blob) => blob.kmsKeyVersion === newVersion)).toHaveLength(300);
  const job = (await h.firestore.collection('rewrapJobs').doc(jobId ?? '').get()).data();
  expect(job).toMatchObject({ status: 'running', total: COUNT, counts: { scanned: 300, rewrapped: 300 }, lease: { holder: null } });

  // Second run: resume to the end, for a script.
  const resumed = await run(['rewrap', '--resume', jobId ?? '', '--batch-size', '250', '--json']);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(resumed.stderr).toContain(`Resuming re-wrap job ${jobId}`);
  expect(resumed.stderr).toMatch(/ 100% 1000\/1000 /);
  expect(JSON.parse(resumed.stdout)).toMatchObject({
    jobId,
    status: 'completed',
    total: COUNT,
    counts: { scanned: COUNT, rewrapped: COUNT, alreadyCurrent: 0, noCredentials: 0, changedMeanwhile: 0, failed: 0 },
    keyVersions: [newVersion],
    startedBy: OPERATOR,
  });

  // Every wrapped key moved to the new version; ciphertext, IV and tag exactly as they were.
  const after = await sealedBlobs();
  for (const [id, old] of before) {
    const now = after.get(id);
    expect(now?.kmsKeyVersion, id).toBe(newVersion);
    expect(now?.wrappedKey.equals(old.wrappedKey), id).toBe(false);
    expect(now?.ciphertext.equals(old.ciphertext), id).toBe(true);
    expect(now?.iv.equals(old.iv), id).toBe(true);
    expect(now?.tag.equals(old.tag), id).toBe(true);
  }
  // And they still open, through a vault that has never seen them (no cached data keys).
  const fresh = createVault(loadConfig(process.env), { clock: systemClock });
  try {
    for (const id of bulk.ids.filter((_id, index) => index % 97 === 0)) {
      const blob = after.get(id);
      if (blob === undefined) throw new Error(`no blob for ${id}`);
      expect(await openCredentials(fresh, blob, { connectionId: id, tenantId: TENANT })).toMatchObject(bulk.credentialsOf.get(id) ?? {});
    }
  } finally {
    await fresh.close();
  }

  // A job that is done says so and changes nothing.
  const again = await run(['rewrap', '--resume', jobId ?? '']);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/completed\.\n\s+scanned:\s+1000 of 1000 connections/);
  for (const output of [first, resumed, again]) for (const secret of bulk.secrets) expect(`${output.stdout}${output.stderr}`).not.toContain(secret);
}, REWRAP_TEST_TIMEOUT_MS);
