// The functions Terraform deploys must be exactly the entry points the package exports, one to one.
import { existsSync, readdirSync } from 'node:fs';
import type { Finding } from './findings.js';
import { isBody, jsonFileLocal } from './load-configuration.js';
import type { Configuration, TerraformBlock } from './load-configuration.js';

/** Files in functions/ that are not functions: the FUNCTION_TARGET loader, the list of names and what each reads. */
export const nonFunctionFiles = ['index.ts', 'names.ts', 'config-reads.ts'] as const;

function keysOfForEach(configuration: Configuration, forEach: unknown): string[] | undefined {
  if (isBody(forEach)) return Object.keys(forEach);
  const local = typeof forEach === 'string' ? /^\$\{local\.([A-Za-z0-9_-]+)\}$/.exec(forEach)?.[1] : undefined;
  if (local === undefined) return undefined;
  const value = configuration.blocks.find((block) => block.kind === 'locals' && block.name === local)?.body.value;
  const resolved = isBody(value) ? value : jsonFileLocal(configuration, local);
  return isBody(resolved) ? Object.keys(resolved) : undefined;
}

/** Entry points a function resource deploys: a literal one, or each key of a literal for_each map. */
function entryPoints(configuration: Configuration, block: TerraformBlock): string[] | undefined {
  const buildConfig = Array.isArray(block.body.build_config) ? block.body.build_config[0] : undefined;
  const entryPoint: unknown = isBody(buildConfig) ? buildConfig.entry_point : undefined;
  if (typeof entryPoint !== 'string') return undefined;
  if (!entryPoint.includes('${')) return [entryPoint];
  if (entryPoint === '${each.key}') return keysOfForEach(configuration, block.body.for_each);
  return undefined;
}

function compare(expected: readonly string[], actual: readonly string[], what: string): string[] {
  const problems: string[] = [];
  const missing = expected.filter((name) => !actual.includes(name));
  const extra = actual.filter((name) => !expected.includes(name));
  const duplicated = actual.filter((name, index) => actual.indexOf(name) !== index);
  if (missing.length > 0) problems.push(`${what} lacks ${missing.join(', ')}`);
  if (extra.length > 0) problems.push(`${what} has ${extra.join(', ')}, which functions/names.ts does not list`);
  if (duplicated.length > 0) problems.push(`${what} declares ${[...new Set(duplicated)].join(', ')} more than once`);
  return problems;
}

export function checkFunctions(
  configuration: Configuration,
  functionNames: readonly string[],
  functionsDirectory: string | undefined,
): Finding[] {
  const findings: Finding[] = [];
  const blocks = configuration.blocks.filter((block) => block.kind === 'resource' && block.type === 'google_cloudfunctions2_function');
  const declared: string[] = [];
  for (const block of blocks) {
    const names = entryPoints(configuration, block);
    if (names === undefined) {
      findings.push({
        file: block.file.path,
        line: block.line,
        rule: 'functions',
        message: `google_cloudfunctions2_function.${block.name}: entry_point must be a literal or each.key over a literal map (e.g. local.functions, or a local read from a JSON file) so the deployed functions can be checked`,
      });
    } else {
      declared.push(...names);
    }
  }
  const anchor = blocks[0] ?? configuration.blocks[0];
  const at = { file: anchor?.file.path ?? '(terraform)', line: anchor?.line ?? 1 };
  for (const message of compare(functionNames, declared, 'Terraform')) findings.push({ ...at, rule: 'functions', message });

  if (functionsDirectory !== undefined && existsSync(functionsDirectory)) {
    const files = readdirSync(functionsDirectory)
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts') && !(nonFunctionFiles as readonly string[]).includes(name))
      .map((name) => name.replace(/\.ts$/, ''));
    // Until the first function file exists, functions/names.ts alone is the list of functions.
    if (files.length > 0) {
      for (const message of compare(functionNames, files, 'functions/')) {
        findings.push({ file: functionsDirectory, line: 1, rule: 'functions', message });
      }
    }
  }
  return findings;
}
