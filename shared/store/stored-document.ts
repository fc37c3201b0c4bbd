// Every document read back from Firestore passes its one schema; one that does not is corrupt data, reported by its
// failing field paths and never by its contents.
import type { z } from 'zod';
import { BrokerError } from '../errors/broker-error.js';

/** `label` names the document in the error's cause (e.g. `connection conn_…`); what it holds never appears. */
export function parseStoredDocument<T>(schema: z.ZodType<T>, what: string, label: string, data: unknown): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new BrokerError('internal', `A stored ${what} does not match its schema`, {
      cause: new Error(`${label}: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`),
    });
  }
  return parsed.data;
}
