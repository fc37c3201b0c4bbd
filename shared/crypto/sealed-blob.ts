// The one shape of a sealed value as stored in Firestore: ciphertext, IV, tag, the KMS-wrapped data key and its key version.
import { z } from 'zod';

// Firestore hands Bytes back as Buffers; plain Uint8Arrays (e.g. from another client) are accepted and normalized.
const bytes = z
  .instanceof(Uint8Array)
  .transform((value) => (Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)));

export const SEALED_BLOB_VERSION = 1;
export const SEALED_BLOB_ALGORITHM = 'A256GCM';
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const DATA_KEY_BYTES = 32;

const kmsKeyVersionName = z
  .string()
  .regex(
    /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+\/cryptoKeyVersions\/[1-9]\d*$/,
    'must be a CryptoKeyVersion resource name',
  );

export const sealedBlobSchema = z
  .object({
    v: z.literal(SEALED_BLOB_VERSION),
    alg: z.literal(SEALED_BLOB_ALGORITHM),
    iv: bytes.refine((value) => value.length === IV_BYTES, `iv must be ${IV_BYTES} bytes`),
    ciphertext: bytes,
    tag: bytes.refine((value) => value.length === TAG_BYTES, `tag must be ${TAG_BYTES} bytes`),
    wrappedKey: bytes.refine((value) => value.length > 0, 'wrappedKey must not be empty'),
    kmsKeyVersion: kmsKeyVersionName,
  })
  .strict();

/** What callers store: a plain object of Buffers and strings (Firestore maps Buffers to Bytes). */
export type SealedBlob = z.output<typeof sealedBlobSchema>;
