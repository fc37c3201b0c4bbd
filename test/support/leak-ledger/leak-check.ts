// The whole-run leak check: reads a run's ledger, dumps what is still stored, searches every haystack for every needle,
// and refuses to pass a broad run that recorded too little to have checked anything.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DocumentRecord,
  type FirestoreProjectRecord,
  type LedgerRecord,
  ledgerRecordSchema,
  type NeedleRecord,
} from '../../../local/leak-ledger/ledger-record.js';
import { LEDGER_FILE_SUFFIX } from '../../../local/leak-ledger/ledger-writer.js';
import { listEmulatorDocuments } from '../../../local/leak-ledger/emulator-documents.js';
import { createLeakScanner, type LeakHit, type ScanCounts } from './leak-scanner.js';

/** From this many test files on, a run is broad: every kind of needle and haystack must have been recorded. */
export const BROAD_RUN_TEST_FILES = 20;
/** Issuers whose needles a broad run must have recorded (the `kind` prefix before the first colon). */
export const REQUIRED_NEEDLE_ISSUERS = ['sandbox', 'kms'] as const;
const REPORTED_HITS = 25;
const DUMP_CONCURRENCY = 8;

export interface LeakCheckOptions {
  readonly runDir: string;
  /** The run's Firestore emulator: projects noted without a host are dumped from it at the end. Unset: no final dumps. */
  readonly emulatorHost?: string;
  readonly broadRunTestFiles?: number;
}

export interface LeakCheckResult {
  /** One line: needles, log lines, responses, documents scanned, hits. */
  readonly summary: string;
  /** Everything that fails the run: hits (described, secrets masked), unreadable ledger lines, implausible emptiness. */
  readonly failures: readonly string[];
  readonly counts: ScanCounts & { readonly testFiles: number; readonly hits: number };
  readonly hits: readonly LeakHit[];
}

// The writer puts the discriminant first, so a needle line is known before it is parsed.
const FIRST_PASS_PREFIXES = ['{"t":"needle"', '{"t":"test_file"', '{"t":"firestore_project"'];

function ledgerFiles(runDir: string): string[] {
  return readdirSync(runDir)
    .filter((name) => name.endsWith(LEDGER_FILE_SUFFIX))
    .sort()
    .map((name) => join(runDir, name));
}

function* ledgerLines(path: string, wanted: (line: string) => boolean): Generator<{ line: string; number: number }> {
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] as string;
    if (line.length > 0 && wanted(line)) yield { line, number: index + 1 };
  }
}

function parseRecord(path: string, line: string, number: number, failures: string[]): LedgerRecord | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    failures.push(`${path}:${number} is not JSON: the ledger lost a record`);
    return undefined;
  }
  const parsed = ledgerRecordSchema.safeParse(json);
  if (!parsed.success) {
    failures.push(`${path}:${number} is not a ledger record (${parsed.error.issues.map((issue) => issue.path.join('.') || issue.message).join(', ')})`);
    return undefined;
  }
  return parsed.data;
}

async function inBatches<T>(items: readonly T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) await Promise.all(items.slice(start, start + size).map(run));
}

function issuerOf(needle: NeedleRecord): string {
  return needle.kind.split(':')[0] ?? needle.kind;
}

function describeHit(hit: LeakHit): string {
  const form = hit.form === 'url-encoded' ? 'URL-encoded ' : '';
  const times = hit.occurrences > 1 ? ` (${hit.occurrences} times)` : '';
  return `${hit.maskedNeedle} [${hit.needleKind}, issued in ${hit.issuedIn}] found ${form}in a ${hit.haystackKind}: ${hit.where}${times}: ${hit.excerpt}`;
}

export async function runLeakCheck(options: LeakCheckOptions): Promise<LeakCheckResult> {
  const failures: string[] = [];
  const files = ledgerFiles(options.runDir);

  // Pass 1: the needles (they must all be known before any haystack is searched), the test files, the projects to dump.
  const needles: NeedleRecord[] = [];
  const testFiles = new Set<string>();
  const projects = new Map<string, FirestoreProjectRecord>();
  const firstPass = (line: string) => FIRST_PASS_PREFIXES.some((prefix) => line.startsWith(prefix));
  for (const path of files) {
    for (const { line, number } of ledgerLines(path, firstPass)) {
      const record = parseRecord(path, line, number, failures);
      if (record?.t === 'needle') needles.push(record);
      else if (record?.t === 'test_file') testFiles.add(record.file);
      else if (record?.t === 'firestore_project') projects.set(`${record.emulatorHost ?? ''} ${record.projectId} ${record.databaseId}`, record);
    }
  }

  const scanner = createLeakScanner(needles);
  // A document dumped again unchanged (after the next test, at the end of the run) is searched once.
  const documentVersions = new Set<string>();
  const scanDocument = (record: DocumentRecord): void => {
    const version = `${record.path}@${record.version}`;
    if (documentVersions.has(version)) return;
    documentVersions.add(version);
    scanner.scanDocument(record);
  };
  // Pass 2: every haystack the workers recorded.
  for (const path of files) {
    for (const { line, number } of ledgerLines(path, (line) => !firstPass(line))) {
      const record = parseRecord(path, line, number, failures);
      if (record?.t === 'log') scanner.scanLog(record);
      else if (record?.t === 'response') scanner.scanResponse(record);
      else if (record?.t === 'document') scanDocument(record);
      // Written by something other than the ledger writer: it came too late to count, so it must not pass unseen.
      else if (record !== undefined) failures.push(`${path}:${number} is a ${record.t} record out of the writer's form ("t" first)`);
    }
  }

  // What is still stored now (projects nobody wiped, like the local stack's) is searched too.
  const dumpable = [...projects.values()].filter((project) => (project.emulatorHost ?? options.emulatorHost) === options.emulatorHost && options.emulatorHost !== undefined);
  await inBatches(dumpable, DUMP_CONCURRENCY, async (project) => {
    try {
      for (const document of await listEmulatorDocuments(options.emulatorHost as string, project.projectId, project.databaseId)) {
        scanDocument({ t: 'document', file: `${project.file}, at the end of the run`, projectId: project.projectId, path: document.path, version: document.version, text: document.text });
      }
    } catch (error) {
      failures.push(`The documents of ${project.projectId} could not be read at the end of the run: ${String(error)}`);
    }
  });

  const counts = scanner.counts();
  const hits = scanner.hits();
  for (const hit of hits.slice(0, REPORTED_HITS)) failures.push(`Leak: ${describeHit(hit)}`);
  if (hits.length > REPORTED_HITS) failures.push(`… and ${hits.length - REPORTED_HITS} more leaks`);

  const broad = options.broadRunTestFiles ?? BROAD_RUN_TEST_FILES;
  if (testFiles.size >= broad) {
    const missing: string[] = [];
    for (const issuer of REQUIRED_NEEDLE_ISSUERS) {
      if (!needles.some((needle) => issuerOf(needle) === issuer)) missing.push(`needles from the ${issuer} stand-in`);
    }
    if (counts.log === 0) missing.push('log lines');
    if (counts.response === 0) missing.push('function responses');
    if (counts.document === 0) missing.push('stored documents');
    for (const what of missing) {
      failures.push(`The leak ledger is implausibly empty: ${testFiles.size} test files ran but it recorded no ${what}; a tap in test/support/leak-ledger is broken`);
    }
  }

  const summary =
    `Leak check: ${counts.needles} needles, ${counts.log} log lines, ${counts.response} responses, ${counts.document} documents scanned, ${hits.length} hits` +
    ` (${testFiles.size} test files; ${counts.tokenAnswersSkipped} token answers not searched` +
    `${counts.tooShortNeedles > 0 ? `; ${counts.tooShortNeedles} needles under 16 characters not searched` : ''})`;
  return { summary, failures, counts: { ...counts, testFiles: testFiles.size, hits: hits.length }, hits };
}
