// Reads every document of one Firestore emulator project (all collections, nested ones too) in one REST query, as text to search.
import { z } from 'zod';

export interface StoredDocument {
  /** The document's full resource name. */
  readonly path: string;
  /** Its update time: the same path and version is the same content. */
  readonly version: string;
  /** Its fields as the REST API renders them, then every bytes field decoded as UTF-8 and as hex. */
  readonly text: string;
}

const runQueryAnswerSchema = z.array(
  z.looseObject({
    document: z.looseObject({ name: z.string(), updateTime: z.string(), fields: z.record(z.string(), z.unknown()).optional() }).optional(),
  }),
);

/** Bytes fields arrive base64-encoded: a secret stored as raw bytes would hide from a plain-text search without this. */
function decodedBytes(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) decodedBytes(item, out);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'bytesValue' && typeof inner === 'string') {
      const bytes = Buffer.from(inner, 'base64');
      out.push(bytes.toString('utf8'), bytes.toString('hex'));
    } else {
      decodedBytes(inner, out);
    }
  }
}

export async function listEmulatorDocuments(emulatorHost: string, projectId: string, databaseId = '(default)'): Promise<StoredDocument[]> {
  const parent = `projects/${encodeURIComponent(projectId)}/databases/${encodeURIComponent(databaseId)}/documents`;
  // A kindless all-descendants query: every collection at every depth. "Bearer owner" is the emulator's admin access, past the rules.
  const response = await fetch(`http://${emulatorHost}/v1/${parent}:runQuery`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer owner' },
    body: JSON.stringify({ structuredQuery: { from: [{ allDescendants: true }] } }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`Listing the documents of ${projectId} on the Firestore emulator failed: HTTP ${response.status} ${body.slice(0, 500)}`);
  const answer = runQueryAnswerSchema.parse(JSON.parse(body));
  const documents: StoredDocument[] = [];
  for (const { document } of answer) {
    if (document === undefined) continue;
    const decoded: string[] = [];
    decodedBytes(document.fields, decoded);
    documents.push({ path: document.name, version: document.updateTime, text: [JSON.stringify(document.fields ?? {}), ...decoded].join('\n') });
  }
  return documents;
}
