// Structured JSON logging for Cloud Logging: one line per event, only allowlisted fields, secrets masked.
import { BrokerError } from '../errors/broker-error.js';
import { type LogFields, type LogValue, loggableFields } from './loggable-fields.js';
import { redactSecrets } from './redact.js';
import type { TraceContext } from './trace.js';

export const severities = ['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR'] as const;
export type Severity = (typeof severities)[number];

export type LogSink = (line: string) => void;

export interface LoggerOptions {
  /** Where lines go; stdout by default (Cloud Run ships it to Cloud Logging). */
  readonly sink?: LogSink;
  readonly minSeverity?: Severity;
  /** Needed to build the `logging.googleapis.com/trace` resource name. */
  readonly projectId?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly trace?: TraceContext;
}

export interface Logger {
  debug(event: string, message: string, fields?: LogFields): void;
  info(event: string, message: string, fields?: LogFields): void;
  notice(event: string, message: string, fields?: LogFields): void;
  warn(event: string, message: string, fields?: LogFields): void;
  error(event: string, message: string, fields?: LogFields): void;
  /** A logger that adds labels and trace correlation to every line (e.g. per request). */
  child(options: { labels?: Readonly<Record<string, string>>; trace?: TraceContext }): Logger;
}

const allowed: ReadonlySet<string> = new Set(loggableFields);
const eventShape = /^[a-z][a-z0-9_.]{0,63}$/;
const MAX_STRING = 2_000;

function cleanString(value: string): string {
  const clipped = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  return redactSecrets(clipped);
}

function cleanValue(field: string, value: LogValue): LogValue {
  if (typeof value === 'string') {
    // URLs lose query and fragment: OAuth URLs carry codes and states there.
    return cleanString(field === 'url' ? value.replace(/[?#].*$/s, '') : value);
  }
  if (Array.isArray(value)) return value.slice(0, 100).map((item) => cleanString(String(item)));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  return '[unloggable]';
}

interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  cause?: SerializedError;
}

function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) return { name: typeof error, message: cleanString(String(error)) };
  const out: SerializedError = { name: cleanString(error.name), message: cleanString(error.message) };
  const code = error instanceof BrokerError ? error.code : (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = cleanString(String(code));
  // Expected broker errors need no stack; anything else is logged in full (with secrets masked).
  if (!(error instanceof BrokerError) && error.stack) out.stack = cleanString(error.stack);
  if (error.cause !== undefined && depth < 3) out.cause = serializeError(error.cause, depth + 1);
  return out;
}

const severityRank: Record<Severity, number> = { DEBUG: 0, INFO: 1, NOTICE: 2, WARNING: 3, ERROR: 4 };

export function createLogger(options: LoggerOptions = {}): Logger {
  const sink: LogSink = options.sink ?? ((line) => process.stdout.write(`${line}\n`));
  const minRank = severityRank[options.minSeverity ?? 'INFO'];

  const write = (severity: Severity, event: string, message: string, fields: LogFields = {}): void => {
    if (severityRank[severity] < minRank) return;
    const entry: Record<string, unknown> = {
      severity,
      message: cleanString(message),
      event: eventShape.test(event) ? event : 'invalid_event_name',
      time: new Date().toISOString(),
    };
    const dropped: string[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      if (field === 'error') entry.error = serializeError(value);
      else if (allowed.has(field)) entry[field] = cleanValue(field, value as LogValue);
      else dropped.push(field);
    }
    // Name the refused fields (names only) so a developer notices, without ever printing their values.
    if (dropped.length > 0) entry.droppedFields = dropped.map((name) => cleanString(name).slice(0, 64));
    if (options.labels && Object.keys(options.labels).length > 0) {
      entry['logging.googleapis.com/labels'] = Object.fromEntries(
        Object.entries(options.labels).map(([key, value]) => [key, cleanString(value)]),
      );
    }
    if (options.trace) {
      entry['logging.googleapis.com/trace'] = options.projectId
        ? `projects/${options.projectId}/traces/${options.trace.traceId}`
        : options.trace.traceId;
      if (options.trace.spanId) entry['logging.googleapis.com/spanId'] = options.trace.spanId;
      if (options.trace.sampled !== undefined) entry['logging.googleapis.com/trace_sampled'] = options.trace.sampled;
    }
    let line: string;
    try {
      line = JSON.stringify(entry);
    } catch {
      line = JSON.stringify({ severity, event: entry.event, message: 'unserializable log entry' });
    }
    sink(line);
  };

  return {
    debug: (event, message, fields) => write('DEBUG', event, message, fields),
    info: (event, message, fields) => write('INFO', event, message, fields),
    notice: (event, message, fields) => write('NOTICE', event, message, fields),
    warn: (event, message, fields) => write('WARNING', event, message, fields),
    error: (event, message, fields) => write('ERROR', event, message, fields),
    child: (childOptions) =>
      createLogger({
        ...options,
        sink,
        labels: { ...options.labels, ...childOptions.labels },
        ...(childOptions.trace ? { trace: childOptions.trace } : {}),
      }),
  };
}
