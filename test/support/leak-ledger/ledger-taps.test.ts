// The taps are wired: in a test file run by vitest.config.ts, what the broker's loggers write, what functions answer, what
// the stand-ins issue and what a wiped project held all reach this run's leak ledger, and the tests see no difference.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../shared/config/config.js';
import { createLogger } from '../../../shared/log/logger.js';
import { createFirestore } from '../../../shared/store/firestore-client.js';
import { clearEmulatorProject, testProjectId } from '../firestore-test-project.js';
import { startVaultHarness } from '../vault-harness.js';
import { startProviderSandbox } from '../../../local/provider-sandbox/provider-sandbox.js';
import { type LedgerRecord, LEDGER_DIR_VARIABLE, ledgerRecordSchema } from '../../../local/leak-ledger/ledger-record.js';

/** What this process wrote to the run's ledger so far. */
function ownRecords(): LedgerRecord[] {
  const runDir = process.env[LEDGER_DIR_VARIABLE];
  if (!runDir) throw new Error(`${LEDGER_DIR_VARIABLE} is not set: run the tests through vitest.config.ts, whose global setup opens the ledger`);
  return readdirSync(runDir)
    .filter((name) => name.startsWith(`${process.pid}-`))
    .flatMap((name) => readFileSync(join(runDir, name), 'utf8').split('\n'))
    .filter((line) => line.length > 0)
    .map((line) => ledgerRecordSchema.parse(JSON.parse(line)));
}

const marker = () => `ledger-probe-${randomBytes(6).toString('hex')}`;

async function served(server: Server): Promise<{ origin: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the leak ledger taps', () => {
  it('marks this test file as one that ran', () => {
    expect(ownRecords()).toContainEqual({ t: 'test_file', file: 'test/support/leak-ledger/ledger-taps.test.ts' });
  });

  it('records every line a broker logger writes, down to DEBUG, while its sink still gets only what it asked for', () => {
    const seen: string[] = [];
    const logger = createLogger({ sink: (line) => seen.push(line), minSeverity: 'WARNING' });
    const quiet = marker();
    const loud = marker();
    logger.child({ labels: { function: 'probe' } }).debug('probe.quiet', quiet);
    logger.error('probe.loud', loud);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain(loud);
    const logged = ownRecords().filter((record) => record.t === 'log');
    expect(logged.some((record) => record.line.includes(quiet) && record.line.includes('"severity":"DEBUG"'))).toBe(true);
    expect(logged.some((record) => record.line.includes(loud))).toBe(true);
  });

  it('records what a function served through getTestServer answered: status, headers (writeHead ones too) and body', async () => {
    const body = marker();
    const header = marker();
    functions.http('ledgerProbeSend', (req, res) => {
      res.status(418).set('x-probe', header).send(body);
    });
    functions.http('ledgerProbeRaw', (req, res) => {
      res.writeHead(201, { 'x-raw': header }).end(body);
    });
    for (const name of ['ledgerProbeSend', 'ledgerProbeRaw']) {
      const server = await served(getTestServer(name));
      try {
        const answer = await fetch(`${server.origin}/some/path?secret=query`);
        expect(await answer.text()).toBe(body);
      } finally {
        await server.close();
      }
    }
    const answers = ownRecords().filter((record) => record.t === 'response' && record.body === body);
    expect(answers).toEqual([
      expect.objectContaining({ function: 'ledgerProbeSend', method: 'GET', path: '/some/path', status: 418, headers: expect.objectContaining({ 'x-probe': header }) }),
      expect.objectContaining({ function: 'ledgerProbeRaw', method: 'GET', path: '/some/path', status: 201, headers: expect.objectContaining({ 'x-raw': header }) }),
    ]);
  });

  it('records what the provider sandbox issues, and its origin as where a start step may redirect', async () => {
    const sandbox = await startProviderSandbox();
    try {
      const apiKey = sandbox.issueApiKey('hubspot');
      expect(ownRecords()).toContainEqual(expect.objectContaining({ t: 'needle', kind: 'sandbox:api_key', value: apiKey }));
      functions.http('ledgerProbeRedirect', (req, res) => res.redirect(302, `${sandbox.origin}/authorize`));
      const server = await served(getTestServer('ledgerProbeRedirect'));
      try {
        await fetch(server.origin, { redirect: 'manual' });
      } finally {
        await server.close();
      }
      const redirect = ownRecords().find((record) => record.t === 'response' && record.function === 'ledgerProbeRedirect');
      expect(redirect).toMatchObject({ status: 302, providerOrigins: expect.arrayContaining([sandbox.origin]) });
    } finally {
      await sandbox.close();
    }
  });

  it('records the data keys the KMS stand-in wraps and unwraps, and the key material it generates', async () => {
    const harness = await startVaultHarness();
    try {
      const context = { collection: 'connections', documentId: 'conn-ledger', field: 'credentials', tenantId: 'acme' };
      await harness.newVault().open(await harness.vault.seal('a secret', context), context);
    } finally {
      await harness.close();
    }
    const kinds = new Set(ownRecords().flatMap((record) => (record.t === 'needle' ? [record.kind] : [])));
    for (const what of ['key_material', 'wrapped_plaintext', 'unwrapped_plaintext']) {
      for (const form of ['base64', 'base64url', 'hex']) expect(kinds).toContain(`kms:${what}:${form}`);
    }
  });

  it('records every document of a project before it is cleared, bytes fields decoded', async () => {
    const emulatorHost = inject('firestoreEmulatorHost');
    const projectId = testProjectId('ledger-taps');
    const text = marker();
    const bytes = marker();
    const created = await fetch(`http://${emulatorHost}/v1/projects/${projectId}/databases/(default)/documents/flows/f1/audit?documentId=a1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer owner' },
      body: JSON.stringify({ fields: { note: { stringValue: text }, raw: { bytesValue: Buffer.from(bytes).toString('base64') } } }),
    });
    expect(created.status).toBe(200);
    await clearEmulatorProject(emulatorHost, projectId);
    const dumped = ownRecords().filter((record) => record.t === 'document' && record.projectId === projectId);
    expect(dumped).toEqual([expect.objectContaining({ path: `projects/${projectId}/databases/(default)/documents/flows/f1/audit/a1` })]);
    expect(dumped[0]?.t === 'document' && dumped[0].text).toContain(text);
    expect(dumped[0]?.t === 'document' && dumped[0].text).toContain(bytes);
    expect(ownRecords()).toContainEqual(expect.objectContaining({ t: 'firestore_project', projectId }));
  });

  it('notes every project a broker Firestore client is made for, and records a project before a test wipes it with recursiveDelete', async () => {
    // Not a testProjectId(): only the client creation can have noted it.
    const projectId = `ledger-wipe-${randomBytes(4).toString('hex')}`;
    const firestore = createFirestore(loadConfig({ GOOGLE_CLOUD_PROJECT: projectId, FIRESTORE_EMULATOR_HOST: inject('firestoreEmulatorHost') }));
    const text = marker();
    try {
      expect(ownRecords()).toContainEqual(expect.objectContaining({ t: 'firestore_project', projectId }));
      await firestore.collection('connections').doc('c1').collection('audit').doc('a1').set({ note: text });
      for (const collection of await firestore.listCollections()) await firestore.recursiveDelete(collection);
      expect((await firestore.listCollections()).length).toBe(0);
    } finally {
      await firestore.terminate();
    }
    const dumped = ownRecords().filter((record) => record.t === 'document' && record.projectId === projectId);
    expect(dumped).toEqual([expect.objectContaining({ path: `projects/${projectId}/databases/(default)/documents/connections/c1/audit/a1`, text: expect.stringContaining(text) })]);
  });
});
