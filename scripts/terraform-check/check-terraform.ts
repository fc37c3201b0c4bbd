// The offline Terraform check: parse, format, schema, references, security invariants, functions one to one.
import { join, relative } from 'node:path';
import { functionNames as exportedFunctionNames } from '../../functions/names.js';
import { checkConventions } from './check-conventions.js';
import { checkFirestoreDefinition } from './check-firestore-definition.js';
import { checkFormat } from './check-format.js';
import { checkFunctions } from './check-functions.js';
import { checkReferences } from './check-references.js';
import { checkSchema } from './check-schema.js';
import { checkSecurity } from './check-security.js';
import type { Finding } from './findings.js';
import { orderFindings } from './findings.js';
import { loadConfiguration } from './load-configuration.js';
import type { SchemaSnapshot } from './provider-schema.js';
import { loadSchemaSnapshot } from './provider-schema.js';

export interface CheckOptions {
  /** The Terraform root folder. */
  readonly directory: string;
  /** Paths in findings are shown relative to this folder (the repository root for the CLI). */
  readonly displayRoot?: string;
  readonly snapshot?: SchemaSnapshot;
  /** The entry points the package exports; functions/names.ts by default. */
  readonly functionNames?: readonly string[];
  /** Folder of the function files to compare one to one; skipped when undefined. */
  readonly functionsDirectory?: string;
  /** firestore.indexes.json, which the configuration reads; skipped when undefined. */
  readonly firestoreDefinition?: string;
}

export async function checkTerraform(options: CheckOptions): Promise<Finding[]> {
  const snapshot = options.snapshot ?? loadSchemaSnapshot();
  const functionNames = options.functionNames ?? exportedFunctionNames;
  const display = (path: string): string => (options.displayRoot === undefined ? path : relative(options.displayRoot, path) || '.');
  const { configuration, findings } = await loadConfiguration(options.directory, display(options.directory));
  findings.push(
    ...(await checkFormat(configuration)),
    ...checkSchema(configuration, snapshot),
    ...(await checkReferences(configuration, snapshot)),
    ...checkSecurity(configuration, functionNames),
    ...checkFunctions(configuration, functionNames, options.functionsDirectory),
    ...checkConventions(configuration, snapshot),
  );
  if (options.firestoreDefinition !== undefined) {
    findings.push(...checkFirestoreDefinition(options.firestoreDefinition, display(options.firestoreDefinition)));
  }
  return orderFindings(
    findings.map((finding) =>
      finding.rule === 'functions' && options.functionsDirectory !== undefined && finding.file === options.functionsDirectory
        ? { ...finding, file: display(finding.file) }
        : finding,
    ),
  );
}

/** The repository's own configuration, as `npm run check:terraform` and the tests check it. */
export function repositoryCheckOptions(repositoryRoot: string): CheckOptions {
  return {
    directory: join(repositoryRoot, 'terraform'),
    displayRoot: repositoryRoot,
    functionsDirectory: join(repositoryRoot, 'functions'),
    firestoreDefinition: join(repositoryRoot, 'firestore.indexes.json'),
  };
}
