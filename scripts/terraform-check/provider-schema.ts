// The trimmed provider schema the Terraform checker enforces: its shape, and loading the committed snapshot.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export interface BlockSchema {
  /** Arguments a configuration may set, with whether the provider requires them. */
  readonly arguments: Readonly<Record<string, { readonly required: boolean }>>;
  /** Nested blocks; `many` is false for blocks the provider allows at most once. */
  readonly blocks: Readonly<Record<string, NestedBlockSchema>>;
  /** Every name readable from this object in an expression: arguments, blocks and computed attributes. */
  readonly readable: readonly string[];
}

export interface NestedBlockSchema {
  readonly required: boolean;
  readonly many: boolean;
  readonly block: BlockSchema;
}

const blockSchema: z.ZodType<BlockSchema> = z.lazy(() =>
  z.object({
    arguments: z.record(z.string(), z.object({ required: z.boolean() })),
    blocks: z.record(
      z.string(),
      z.object({ required: z.boolean(), many: z.boolean(), block: blockSchema }),
    ),
    readable: z.array(z.string()),
  }),
);

const providerSnapshotSchema = z.object({
  /** The npm package the schema was extracted from, and the Terraform provider version it describes. */
  package: z.string(),
  providerSource: z.string(),
  providerVersion: z.string(),
  provider: blockSchema,
  resources: z.record(z.string(), blockSchema),
  dataSources: z.record(z.string(), blockSchema),
});

export const schemaSnapshotSchema = z.object({
  generatedBy: z.string(),
  providers: z.record(z.string(), providerSnapshotSchema),
});

export type SchemaSnapshot = z.infer<typeof schemaSnapshotSchema>;

export const defaultSnapshotPath = new URL('./provider-schema-snapshot.json', import.meta.url);

export function loadSchemaSnapshot(path: URL | string = defaultSnapshotPath): SchemaSnapshot {
  return schemaSnapshotSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

/** The local name a resource or data source type belongs to: `google_storage_bucket` → `google`. */
export function providerOfType(type: string, snapshot: SchemaSnapshot): string | undefined {
  // Longest match first, so `google-beta`-style names cannot be shadowed by a shorter prefix.
  const names = Object.keys(snapshot.providers).sort((a, b) => b.length - a.length);
  return names.find((name) => type === name || type.startsWith(`${name}_`));
}
