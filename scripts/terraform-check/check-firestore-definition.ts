// firestore.indexes.json is read by Terraform (jsondecode + for_each): it must have the shape firestore.tf expects.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Finding } from './findings.js';

const indexField = z
  .object({
    fieldPath: z.string().min(1),
    order: z.enum(['ASCENDING', 'DESCENDING']).optional(),
    arrayConfig: z.literal('CONTAINS').optional(),
  })
  .refine((field) => (field.order === undefined) !== (field.arrayConfig === undefined), 'needs exactly one of order or arrayConfig');

const queryScope = z.enum(['COLLECTION', 'COLLECTION_GROUP']);

export const firestoreDefinitionSchema = z.object({
  indexes: z.array(
    z.object({ collectionGroup: z.string().min(1), queryScope: queryScope.optional(), fields: z.array(indexField).min(2) }),
  ),
  fieldOverrides: z.array(
    z.object({
      collectionGroup: z.string().min(1),
      fieldPath: z.string().min(1),
      ttl: z.boolean().optional(),
      indexes: z
        .array(
          z.object({
            order: z.enum(['ASCENDING', 'DESCENDING']).optional(),
            arrayConfig: z.literal('CONTAINS').optional(),
            queryScope: queryScope.optional(),
          }),
        )
        .optional(),
    }),
  ),
});

export function checkFirestoreDefinition(path: string, displayPath = path): Finding[] {
  const at = (message: string): Finding[] => [{ file: displayPath, line: 1, rule: 'schema', message }];
  if (!existsSync(path)) return at('is missing: terraform/locals.tf reads the Firestore indexes and TTL policies from it');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return at(`is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = firestoreDefinitionSchema.safeParse(json);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => at(`${issue.path.join('.') || '(root)'}: ${issue.message}`)[0] as Finding);
}
