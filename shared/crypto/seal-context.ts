// Where a sealed value lives (collection, document, field, tenant) and its canonical byte encoding as associated data.
import { z } from 'zod';

// Firestore document ids and field paths are at most 1,500 bytes; nothing longer can be a real location.
const part = z.string().min(1).max(1500);

export const sealContextSchema = z
  .object({
    collection: part,
    documentId: part,
    field: part,
    tenantId: part,
  })
  .strict();

export type SealContext = z.infer<typeof sealContextSchema>;

// A domain label keeps these bytes from ever meaning the same thing as another protocol's associated data.
const LABEL = Buffer.from('oauth-broker/sealed-value/v1', 'utf8');
const ORDER = ['collection', 'documentId', 'field', 'tenantId'] as const;

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** Parses a caller-supplied context; a malformed one is a programming error, hence a `TypeError`. */
export function parseSealContext(context: unknown): SealContext {
  const parsed = sealContextSchema.safeParse(context);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)');
    throw new TypeError(`A seal context needs non-empty collection, documentId, field and tenantId (bad: ${fields.join(', ')})`);
  }
  return parsed.data;
}

/**
 * The associated data for AES-GCM and KMS: every part length-prefixed in a fixed order, so no two
 * different contexts encode to the same bytes (`a/b` + `c` never collides with `a` + `b/c`).
 */
export function encodeAssociatedData(context: SealContext): Buffer {
  return Buffer.concat([
    lengthPrefixed(LABEL),
    ...ORDER.map((key) => lengthPrefixed(Buffer.from(context[key], 'utf8'))),
  ]);
}
