// The process-wide side of the leak ledger: the stand-ins and test harnesses call these; all are no-ops outside a test run.
import { type ResponseRecord, LEDGER_DIR_VARIABLE } from './ledger-record.js';
import { type LedgerWriter, openLedgerWriter } from './ledger-writer.js';
import { listEmulatorDocuments } from './emulator-documents.js';

// undefined: not looked up yet; null: no ledger in this process (npm start, a script, a vitest run without the global setup).
let writer: LedgerWriter | null | undefined;
let currentTestFile: string | undefined;
const recordedNeedles = new Set<string>();
const liveProviderOrigins = new Set<string>();
const recordedDocumentVersions = new Set<string>();
const notedProjects = new Set<string>();

function ledger(): LedgerWriter | null {
  if (writer === undefined) {
    const runDir = process.env[LEDGER_DIR_VARIABLE];
    writer = runDir ? openLedgerWriter(runDir) : null;
  }
  return writer;
}

/** Where a record came from: the test file, or for a child process its command line. */
function fileLabel(): string {
  return currentTestFile ?? `process ${process.pid} (${process.argv.slice(1, 3).join(' ')})`;
}

export function ledgerActive(): boolean {
  return ledger() !== null;
}

/** Called by the worker setup with the test file this process is running. */
export function setLedgerTestFile(path: string): void {
  currentTestFile = path;
}

/** Marks that the current test file ran tests: the plausibility rules count these. */
export function recordTestFile(): void {
  ledger()?.write({ t: 'test_file', file: fileLabel() });
}

export function recordSecret(kind: string, value: string): void {
  const target = ledger();
  // Once per kind: the same data key wrapped here and unwrapped later is one secret seen by two paths.
  const key = `${kind}\n${value}`;
  if (target === null || value.length === 0 || recordedNeedles.has(key)) return;
  recordedNeedles.add(key);
  target.write({ t: 'needle', kind, value, file: fileLabel() });
}

/** A compact JWT, and its signature alone: a log line holding just the signature still holds the credential. */
export function recordJwt(kind: string, jwt: string): void {
  if (!ledgerActive()) return;
  recordSecret(kind, jwt);
  const signature = jwt.split('.')[2];
  if (signature) recordSecret(`${kind}:signature`, signature);
}

/** Key bytes in every text form they could be written in. */
export function recordKeyBytes(kind: string, bytes: Uint8Array): void {
  if (!ledgerActive() || bytes.length === 0) return;
  const buffer = Buffer.from(bytes);
  recordSecret(`${kind}:base64`, buffer.toString('base64'));
  recordSecret(`${kind}:base64url`, buffer.toString('base64url'));
  recordSecret(`${kind}:hex`, buffer.toString('hex'));
}

export function recordLogLine(source: string, line: string): void {
  ledger()?.write({ t: 'log', file: fileLabel(), source, line });
}

export function recordFunctionResponse(response: Omit<ResponseRecord, 't' | 'file' | 'providerOrigins'>): void {
  ledger()?.write({ t: 'response', file: fileLabel(), ...response, providerOrigins: [...liveProviderOrigins] });
}

/**
 * Copies every document of a project into the ledger (each version once); call it before the project is wiped.
 * The project is noted too, so the end of the run dumps whatever is stored in it by then.
 */
export async function recordStoredDocuments(emulatorHost: string, projectId: string, databaseId = '(default)'): Promise<void> {
  const target = ledger();
  if (target === null) return;
  noteFirestoreProject(projectId, { emulatorHost, databaseId });
  for (const document of await listEmulatorDocuments(emulatorHost, projectId, databaseId)) {
    const version = `${document.path}@${document.version}`;
    if (recordedDocumentVersions.has(version)) continue;
    recordedDocumentVersions.add(version);
    target.write({ t: 'document', file: fileLabel(), projectId, path: document.path, version: document.version, text: document.text });
  }
}

/** A project the final check must dump from the run's emulator (or from `emulatorHost`), whatever is left in it then. */
export function noteFirestoreProject(projectId: string, options: { emulatorHost?: string; databaseId?: string } = {}): void {
  const target = ledger();
  const databaseId = options.databaseId ?? '(default)';
  // Project ids are random per test file: the first noting (with or without a host) is the one that counts.
  const key = `${projectId} ${databaseId}`;
  if (target === null || notedProjects.has(key)) return;
  notedProjects.add(key);
  target.write({
    t: 'firestore_project',
    file: fileLabel(),
    projectId,
    databaseId,
    ...(options.emulatorHost === undefined ? {} : { emulatorHost: options.emulatorHost }),
  });
}

/** A provider sandbox is listening here: a function may send a browser to it (the connect start step does). */
export function noteProviderOrigin(origin: string): void {
  liveProviderOrigins.add(origin);
}

export function forgetProviderOrigin(origin: string): void {
  liveProviderOrigins.delete(origin);
}
