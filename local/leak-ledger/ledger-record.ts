// The shape of one leak-ledger line: a secret the stand-ins issued (a needle), or something the broker wrote where it must not appear.
import { z } from 'zod';

/** The environment variable naming this run's ledger directory; set by the global setup, inherited by workers and children. */
export const LEDGER_DIR_VARIABLE = 'LEAK_LEDGER_DIR';

const testFile = z.string().min(1);

export const needleRecordSchema = z
  .object({
    t: z.literal('needle'),
    /** `<issuer>:<what>`, e.g. `sandbox:code`, `kms:data_key:hex`; the issuer part is what the plausibility rules count. */
    kind: z.string().regex(/^[a-z_]+:[a-z0-9_:]+$/),
    value: z.string().min(1),
    file: testFile,
  })
  .strict();

export const logRecordSchema = z
  .object({
    t: z.literal('log'),
    file: testFile,
    /** Which logger or process wrote it: `logger` for createLogger sinks, `child <command>` for a child's output. */
    source: z.string().min(1),
    line: z.string(),
  })
  .strict();

export const responseHeadersSchema = z.record(z.string(), z.union([z.string(), z.array(z.string())]));
export type ResponseHeaders = z.infer<typeof responseHeadersSchema>;

export const responseRecordSchema = z
  .object({
    t: z.literal('response'),
    file: testFile,
    function: z.string().min(1),
    method: z.string(),
    /** The path the function saw, without the query string. */
    path: z.string(),
    status: z.number().int(),
    headers: responseHeadersSchema,
    body: z.string(),
    /** Origins of the provider sandboxes alive in that process when the answer was written: where a browser may be sent. */
    providerOrigins: z.array(z.string()),
  })
  .strict();

export const documentRecordSchema = z
  .object({
    t: z.literal('document'),
    file: testFile,
    projectId: z.string().min(1),
    /** The document's full resource name. */
    path: z.string().min(1),
    /** Its update time: a document dumped twice unchanged is searched once. */
    version: z.string().min(1),
    /** Its fields as the emulator's REST API renders them, plus every bytes field decoded as UTF-8 and hex. */
    text: z.string(),
  })
  .strict();

export const testFileRecordSchema = z.object({ t: z.literal('test_file'), file: testFile }).strict();

/** A Firestore project a test used: the final check dumps whatever is still stored in it. */
export const firestoreProjectRecordSchema = z
  .object({
    t: z.literal('firestore_project'),
    file: testFile,
    projectId: z.string().min(1),
    databaseId: z.string().min(1),
    /** Absent: the run's own emulator (the one the global setup started). */
    emulatorHost: z.string().min(1).optional(),
  })
  .strict();

export const ledgerRecordSchema = z.discriminatedUnion('t', [
  needleRecordSchema,
  logRecordSchema,
  responseRecordSchema,
  documentRecordSchema,
  testFileRecordSchema,
  firestoreProjectRecordSchema,
]);

export type LedgerRecord = z.infer<typeof ledgerRecordSchema>;
export type NeedleRecord = z.infer<typeof needleRecordSchema>;
export type LogRecord = z.infer<typeof logRecordSchema>;
export type ResponseRecord = z.infer<typeof responseRecordSchema>;
export type DocumentRecord = z.infer<typeof documentRecordSchema>;
export type FirestoreProjectRecord = z.infer<typeof firestoreProjectRecordSchema>;
