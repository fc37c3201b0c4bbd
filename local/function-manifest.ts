// Reads functions/manifest.json (what each deployed function is given; Terraform reads the same file) and compares it
// with what each function's code reads (functions/config-reads.ts), so a function that would start without a variable
// it needs, or be given one nothing reads, is named before anything runs.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { functionConfigReads } from '../functions/config-reads.js';
import { functionNames, type FunctionName } from '../functions/names.js';
import { type ConfigSection, isDeploymentVariable, platformVariables, standInVariables, variablesOfSection } from '../shared/config/config.js';

export const functionManifestPath = new URL('../functions/manifest.json', import.meta.url);

const variableName = z.string().regex(/^[A-Z][A-Z0-9_]*$/);

export const functionEntrySchema = z
  .object({
    description: z.string().min(1),
    /** Who Terraform lets invoke it; public means allUsers (the browser-facing callback). */
    invokers: z.enum(['public', 'product_backends', 'token_callers', 'operators', 'scheduler']),
    memory: z.string().regex(/^\d+(Mi|Gi)$/),
    timeoutSeconds: z.number().int().min(1).max(3600),
    minInstances: z.number().int().min(0),
    maxInstances: z.number().int().min(1),
    concurrency: z.number().int().min(1).max(1000),
    kmsRole: z.enum(['encrypt', 'encrypt_decrypt']),
    /** Provider client ids go in as variables; secrets come from Secret Manager, only where listed here. */
    providerCredentials: z.enum(['none', 'client_ids', 'client_ids_and_secrets']),
    environment: z.array(variableName),
  })
  .strict();
export type FunctionEntry = z.infer<typeof functionEntrySchema>;

export const functionManifestSchema = z
  .object({
    $comment: z.string().optional(),
    functions: z.record(z.enum(functionNames), functionEntrySchema),
  })
  .strict();
export type FunctionManifest = z.infer<typeof functionManifestSchema>;

export function readFunctionManifest(path: URL | string = functionManifestPath): FunctionManifest {
  return functionManifestSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

/**
 * Every disagreement between the manifest and the code, one sentence each naming the function and the variable:
 * a variable the code reads that the deployment must set but is not given, one given that nothing reads, and
 * provider credentials given or withheld against what the code reads.
 */
export function manifestMismatches(
  manifest: FunctionManifest,
  reads: Readonly<Record<FunctionName, readonly ConfigSection[]>> = functionConfigReads,
): string[] {
  const problems: string[] = [];
  for (const name of functionNames) {
    const entry = manifest.functions[name];
    const sections = reads[name];
    const readable = new Map<string, string>();
    for (const section of ['projectId', 'log', 'runtime', ...sections] as const) {
      for (const variable of variablesOfSection(section)) readable.set(variable, section);
    }
    for (const [variable, section] of readable) {
      if (variable.startsWith('PROVIDER_<ID>')) continue;
      if (isDeploymentVariable(variable) && !entry.environment.includes(variable)) {
        problems.push(`${name} reads ${variable} (config.${section}) but functions/manifest.json does not give it`);
      }
    }
    for (const variable of entry.environment) {
      if ((standInVariables as readonly string[]).includes(variable) || (platformVariables as readonly string[]).includes(variable)) {
        problems.push(`functions/manifest.json gives ${name} ${variable}, which only the local stack or the platform sets`);
      } else if (!readable.has(variable)) {
        problems.push(`functions/manifest.json gives ${name} ${variable}, which nothing in ${name} reads`);
      }
    }
    const wanted = sections.includes('providerClients') ? 'client_ids_and_secrets' : sections.includes('providerClientIds') ? 'client_ids' : 'none';
    if (entry.providerCredentials !== wanted) {
      const variable = wanted === 'client_ids_and_secrets' || entry.providerCredentials === 'client_ids_and_secrets' ? 'PROVIDER_<ID>_CLIENT_SECRET' : 'PROVIDER_<ID>_CLIENT_ID';
      problems.push(
        `${name} reads provider credentials as ${wanted} but functions/manifest.json gives ${entry.providerCredentials} (${variable})`,
      );
    }
    if (new Set(entry.environment).size !== entry.environment.length) problems.push(`functions/manifest.json lists a variable of ${name} twice`);
  }
  return problems;
}

/** Every variable a function's code can read (its declared sections' and the ones every function reads). */
export function readableVariablesOf(name: FunctionName): Set<string> {
  return new Set((['projectId', 'log', 'runtime', ...functionConfigReads[name]] as const).flatMap((section) => variablesOfSection(section)));
}

/** The stand-in variables a function's code can read (the local stack points those at its stand-ins). */
export function standInVariablesOf(name: FunctionName): string[] {
  const readable = readableVariablesOf(name);
  return standInVariables.filter((variable) => readable.has(variable));
}
