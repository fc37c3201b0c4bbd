// The whole-run check over a ledger directory: it fails on a leak (named, never printed whole), on a ledger it cannot read,
// and on a broad run that recorded too little to have checked anything; a narrow run may record little and pass.
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { clearEmulatorProject, testProjectId } from '../firestore-test-project.js';
import type { LedgerRecord } from '../../../local/leak-ledger/ledger-record.js';
import { openLedgerWriter } from '../../../local/leak-ledger/ledger-writer.js';
import { runLeakCheck } from './leak-check.js';

const secret = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;
let runDir = '';

beforeEach(() => {
  runDir = mkdtempSync(join(tmpdir(), 'leak-ledger-'));
});
afterEach(() => {
  rmSync(runDir, { recursive: true, force: true });
});

/** Writes records as one worker process would. */
function ledger(records: readonly LedgerRecord[]): void {
  const writer = openLedgerWriter(runDir);
  for (const record of records) writer.write(record);
  writer.close();
}

const testFiles = (count: number): LedgerRecord[] => Array.from({ length: count }, (_, index) => ({ t: 'test_file', file: `test/file-${index}.test.ts` }));
const everyKind = (token: string): LedgerRecord[] => [
  { t: 'needle', kind: 'sandbox:issued', value: token, file: 'test/a.test.ts' },
  { t: 'needle', kind: 'kms:wrapped_plaintext:hex', value: randomBytes(32).toString('hex'), file: 'test/a.test.ts' },
  { t: 'log', file: 'test/a.test.ts', source: 'logger', line: '{"severity":"INFO","event":"refresh.succeeded"}' },
  { t: 'response', file: 'test/a.test.ts', function: 'connections', method: 'GET', path: '/', status: 200, headers: {}, body: '[]', providerOrigins: [] },
  { t: 'document', file: 'test/a.test.ts', projectId: 'p', path: 'projects/p/databases/(default)/documents/c/1', version: '2026-01-01T00:00:00.000001Z', text: '{}' },
];

describe('the whole-run leak check', () => {
  it('passes a clean ledger from several workers and sums it up in one line', async () => {
    const token = secret('sbxat_');
    ledger([...testFiles(2), ...everyKind(token)]);
    // Another worker: one more log line, and the same document version dumped again (searched once).
    ledger([{ t: 'log', file: 'test/b.test.ts', source: 'logger', line: 'another line' }, ...everyKind(token).filter((record) => record.t === 'document')]);
    const result = await runLeakCheck({ runDir });
    expect(result.failures).toEqual([]);
    expect(result.summary).toBe('Leak check: 2 needles, 2 log lines, 1 responses, 1 documents scanned, 0 hits (2 test files; 0 token answers not searched)');
  });

  it('fails on a secret in a document still stored at the end of the run, naming the document and masking the secret', async () => {
    const emulatorHost = inject('firestoreEmulatorHost');
    const projectId = testProjectId('leak-check');
    const token = secret('sbxrt_slack_');
    try {
      const created = await fetch(`http://${emulatorHost}/v1/projects/${projectId}/databases/(default)/documents/connections?documentId=conn-1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer owner' },
        body: JSON.stringify({ fields: { credentials: { mapValue: { fields: { refreshToken: { stringValue: token } } } } } }),
      });
      expect(created.status).toBe(200);
      ledger([
        { t: 'needle', kind: 'sandbox:issued', value: token, file: 'test/issuer.test.ts' },
        { t: 'firestore_project', file: 'test/writer.test.ts', projectId, databaseId: '(default)' },
      ]);
      const result = await runLeakCheck({ runDir, emulatorHost });
      expect(result.counts).toMatchObject({ document: 1, hits: 1 });
      expect(result.failures).toHaveLength(1);
      expect(result.failures[0]).toContain(`projects/${projectId}/databases/(default)/documents/connections/conn-1`);
      expect(result.failures[0]).toContain('test/writer.test.ts, at the end of the run');
      expect(result.failures[0]).toContain(`${token.slice(0, 6)}…${token.slice(-4)}`);
      expect(JSON.stringify(result)).not.toContain(token);
    } finally {
      await clearEmulatorProject(emulatorHost, projectId);
    }
  });

  it('fails on a planted leak in each haystack kind the workers recorded', async () => {
    const token = secret('sbxat_');
    ledger([
      { t: 'needle', kind: 'sandbox:issued', value: token, file: 'test/issuer.test.ts' },
      { t: 'log', file: 'test/a.test.ts', source: 'logger', line: `{"message":"${token}"}` },
      { t: 'response', file: 'test/a.test.ts', function: 'admin', method: 'GET', path: '/api', status: 200, headers: {}, body: token, providerOrigins: [] },
      { t: 'document', file: 'test/a.test.ts', projectId: 'p', path: 'projects/p/databases/(default)/documents/c/1', version: '2026-01-01T00:00:00.000001Z', text: token },
    ]);
    const result = await runLeakCheck({ runDir });
    expect(result.hits.map((hit) => hit.haystackKind)).toEqual(['log', 'response', 'document']);
    expect(result.summary).toMatch(/, 3 hits /);
  });

  it('refuses a broad run that recorded no needles, log lines, responses or documents', async () => {
    ledger(testFiles(3));
    const result = await runLeakCheck({ runDir, broadRunTestFiles: 3 });
    expect(result.failures).toEqual([
      expect.stringContaining('recorded no needles from the sandbox stand-in'),
      expect.stringContaining('recorded no needles from the kms stand-in'),
      expect.stringContaining('recorded no log lines'),
      expect.stringContaining('recorded no function responses'),
      expect.stringContaining('recorded no stored documents'),
    ]);
  });

  it('accepts a broad run that recorded every kind, and a narrow run that recorded nothing', async () => {
    ledger([...testFiles(3), ...everyKind(secret('sbxat_'))]);
    expect((await runLeakCheck({ runDir, broadRunTestFiles: 3 })).failures).toEqual([]);
    rmSync(runDir, { recursive: true, force: true });
    runDir = mkdtempSync(join(tmpdir(), 'leak-ledger-'));
    ledger(testFiles(2));
    expect((await runLeakCheck({ runDir, broadRunTestFiles: 3 })).failures).toEqual([]);
  });

  it('fails when a ledger line cannot be read: a lost record could have held the leak', async () => {
    ledger(everyKind(secret('sbxat_')));
    const writer = openLedgerWriter(runDir);
    writer.close();
    const reordered = JSON.stringify({ kind: 'sandbox:issued', t: 'needle', value: secret('sbxat_'), file: 'test/a.test.ts' });
    appendFileSync(writer.path, `{"t":"log","file":"test/a.test.ts","source":"logger","li\n{"t":"response"}\n${reordered}\n`);
    const result = await runLeakCheck({ runDir });
    expect(result.failures).toEqual([
      expect.stringContaining(':1 is not JSON'),
      expect.stringContaining(':2 is not a ledger record'),
      expect.stringContaining(':3 is a needle record out of the writer\'s form'),
    ]);
  });
});
