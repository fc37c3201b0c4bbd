// Searches every haystack of a run (log lines, function answers, stored documents) for every secret the stand-ins issued, and says where.
import type { DocumentRecord, LogRecord, NeedleRecord, ResponseRecord } from '../../../local/leak-ledger/ledger-record.js';
import { createNeedleIndex, type NeedleMatch } from './needle-index.js';
import { valuesCarriedToProvider } from './provider-redirect.js';

export const haystackKinds = ['log', 'response', 'document'] as const;
export type HaystackKind = (typeof haystackKinds)[number];

export interface Haystack {
  readonly kind: HaystackKind;
  /** Where it came from, for the report: test file plus function, status, document path... */
  readonly where: string;
  readonly text: string;
}

export interface LeakHit {
  readonly needleKind: string;
  /** The test file (or process) whose stand-in issued the secret. */
  readonly issuedIn: string;
  /** A prefix and suffix of the secret and its length: never the whole value. */
  readonly maskedNeedle: string;
  readonly form: 'plain' | 'url-encoded';
  readonly haystackKind: HaystackKind;
  readonly where: string;
  /** The text around the first occurrence, every secret in it masked. */
  readonly excerpt: string;
  readonly occurrences: number;
}

export interface ScanCounts {
  readonly needles: number;
  readonly tooShortNeedles: number;
  readonly log: number;
  readonly response: number;
  readonly document: number;
  /** The token function's 200 answers: they carry an access token by design and are not searched. */
  readonly tokenAnswersSkipped: number;
}

export interface LeakScanner {
  scanLog(record: LogRecord): void;
  scanResponse(record: ResponseRecord): void;
  scanDocument(record: DocumentRecord): void;
  counts(): ScanCounts;
  hits(): readonly LeakHit[];
}

const EXCERPT_CONTEXT = 40;

export function maskSecret(value: string): string {
  return `${value.slice(0, 6)}…${value.slice(-4)} (${value.length} chars)`;
}

function excerptAround(text: string, match: NeedleMatch<NeedleRecord>, all: readonly NeedleMatch<NeedleRecord>[]): string {
  const from = Math.max(0, match.at - EXCERPT_CONTEXT);
  const to = Math.min(text.length, match.at + match.length + EXCERPT_CONTEXT);
  let excerpt = '';
  let cursor = from;
  for (const other of [...all].sort((a, b) => a.at - b.at)) {
    const end = other.at + other.length;
    if (end <= cursor || other.at >= to) continue;
    excerpt += text.slice(cursor, Math.max(cursor, other.at));
    excerpt += `«${other.needle.kind}»`;
    cursor = end;
  }
  excerpt += text.slice(cursor, Math.max(cursor, to));
  return `${from > 0 ? '…' : ''}${excerpt.replace(/\s+/g, ' ')}${to < text.length ? '…' : ''}`;
}

function header(headers: ResponseRecord['headers'], name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The answer as searched: status, headers and body, less exactly what the start step hands the provider. */
export function responseText(record: ResponseRecord): string {
  let text = `HTTP ${record.status}\n${JSON.stringify(record.headers)}\n${record.body}`;
  // Longest first, so a value is not half-replaced through a shorter form of itself.
  for (const carried of valuesCarriedToProvider(record).sort((a, b) => b.length - a.length)) {
    text = text.replaceAll(carried, '<sent to the provider>');
  }
  return text;
}

export function createLeakScanner(needles: Iterable<NeedleRecord>): LeakScanner {
  const index = createNeedleIndex(needles, (needle) => needle.value);
  const counts = { log: 0, response: 0, document: 0, tokenAnswersSkipped: 0 };
  const found: LeakHit[] = [];

  const scan = (haystack: Haystack): void => {
    counts[haystack.kind] += 1;
    const matches = index.find(haystack.text);
    const byNeedle = new Map<string, NeedleMatch<NeedleRecord>[]>();
    for (const match of matches) {
      const list = byNeedle.get(match.needle.value);
      if (list) list.push(match);
      else byNeedle.set(match.needle.value, [match]);
    }
    for (const [value, list] of byNeedle) {
      const first = list[0] as NeedleMatch<NeedleRecord>;
      found.push({
        needleKind: first.needle.kind,
        issuedIn: first.needle.file,
        maskedNeedle: maskSecret(value),
        form: first.form,
        haystackKind: haystack.kind,
        where: haystack.where,
        excerpt: excerptAround(haystack.text, first, matches),
        occurrences: list.length,
      });
    }
  };

  return {
    scanLog(record) {
      scan({ kind: 'log', where: `${record.file} (${record.source})`, text: record.line });
    },
    scanResponse(record) {
      if (record.function === 'token' && record.status === 200) {
        counts.tokenAnswersSkipped += 1;
        return;
      }
      const type = header(record.headers, 'content-type');
      scan({
        kind: 'response',
        where: `${record.function} ${record.method} ${record.path} → ${record.status}${type ? ` ${type}` : ''} in ${record.file}`,
        text: responseText(record),
      });
    },
    scanDocument(record) {
      scan({ kind: 'document', where: `${record.path} (dumped by ${record.file})`, text: record.text });
    },
    counts: () => ({ needles: index.size, tooShortNeedles: index.tooShort, ...counts }),
    hits: () => found,
  };
}
