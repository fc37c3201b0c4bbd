// Reads a Terraform root folder: every .tf file parsed to JSON with @cdktf/hcl2json, and block positions.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import type { Finding } from './findings.js';

/** A body as hcl2json renders it: arguments as values, nested blocks as arrays of bodies. */
export type Body = Record<string, unknown>;

export interface TerraformFile {
  readonly path: string;
  readonly source: string;
  readonly json: Record<string, unknown>;
}

export interface TerraformBlock {
  readonly file: TerraformFile;
  /** resource, data, variable, output, module, provider, terraform, check or locals. */
  readonly kind: string;
  readonly type: string | undefined;
  readonly name: string;
  readonly body: Body;
  readonly line: number;
}

export interface Configuration {
  /** The root folder, where `path.module` points. */
  readonly directory: string;
  readonly files: readonly TerraformFile[];
  readonly blocks: readonly TerraformBlock[];
}

export function isBody(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function bodiesOf(value: unknown): Body[] {
  return Array.isArray(value) ? value.filter(isBody) : [];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** 1-based line of the first line matching `pattern` at or after `fromLine`, else `fallback`. */
export function lineOf(source: string, pattern: RegExp, fromLine = 1, fallback = fromLine): number {
  const lines = source.split('\n');
  for (let index = fromLine - 1; index < lines.length; index += 1) {
    if (pattern.test(lines[index] ?? '')) return index + 1;
  }
  return fallback;
}

/** Line of an argument, nested block or dynamic block named `name` inside the block starting at `blockLine`. */
export function lineOfArgument(file: TerraformFile, blockLine: number, name: string): number {
  const quoted = escapeRegExp(name);
  return lineOf(file.source, new RegExp(`^\\s*(${quoted}\\s*(=|\\{)|dynamic\\s+"${quoted}")`), blockLine, blockLine);
}

function headerLine(source: string, kind: string, labels: readonly string[]): number {
  const pattern = [kind, ...labels.map((label) => `"${escapeRegExp(label)}"`)].join('\\s+');
  return lineOf(source, new RegExp(`^\\s*${pattern}\\s*\\{`), 1, 1);
}

function blocksOf(file: TerraformFile): TerraformBlock[] {
  const blocks: TerraformBlock[] = [];
  const add = (kind: string, type: string | undefined, name: string, body: Body, labels: string[]): void => {
    blocks.push({ file, kind, type, name, body, line: headerLine(file.source, kind, labels) });
  };
  for (const [kind, value] of Object.entries(file.json)) {
    if (kind === 'resource' || kind === 'data') {
      for (const [type, byName] of Object.entries(isBody(value) ? value : {})) {
        for (const [name, bodies] of Object.entries(isBody(byName) ? byName : {})) {
          for (const body of bodiesOf(bodies)) add(kind, type, name, body, [type, name]);
        }
      }
    } else if (kind === 'terraform') {
      for (const body of bodiesOf(value)) add(kind, undefined, 'terraform', body, []);
    } else if (kind === 'locals') {
      for (const body of bodiesOf(value)) {
        for (const [name, local] of Object.entries(body)) {
          const line = lineOf(file.source, new RegExp(`^\\s*${escapeRegExp(name)}\\s*=`), 1, 1);
          blocks.push({ file, kind, type: undefined, name, body: { value: local }, line });
        }
      }
    } else {
      for (const [name, bodies] of Object.entries(isBody(value) ? value : {})) {
        for (const body of bodiesOf(bodies)) add(kind, undefined, name, body, [name]);
      }
    }
  }
  return blocks;
}

/** Parses every `.tf` file of `directory`; files that do not parse become findings and are left out. */
export async function loadConfiguration(
  directory: string,
  displayDirectory = directory,
): Promise<{ configuration: Configuration; findings: Finding[] }> {
  const findings: Finding[] = [];
  const files: TerraformFile[] = [];
  const names = readdirSync(directory)
    .filter((name) => name.endsWith('.tf'))
    .sort();
  for (const name of names) {
    const path = join(displayDirectory, name);
    const source = readFileSync(join(directory, name), 'utf8');
    try {
      files.push({ path, source, json: await parse(name, source) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const line = Number(/:(\d+),\d+/.exec(message)?.[1] ?? 1);
      findings.push({ file: path, line, rule: 'parse', message: `does not parse as HCL: ${message}` });
    }
  }
  return { configuration: { directory, files, blocks: files.flatMap(blocksOf) }, findings };
}

const jsonFileExpression = /^\$\{jsondecode\(file\("\$\{path\.module\}\/([^"]+)"\)\)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}$/;

/**
 * The value of a local that is `jsondecode(file("${path.module}/…"))` (optionally followed by attribute reads), read
 * from that file as Terraform would; undefined for any other local. The function manifest reaches Terraform this way.
 */
export function jsonFileLocal(configuration: Configuration, name: string): unknown {
  const expression = configuration.blocks.find((block) => block.kind === 'locals' && block.name === name)?.body.value;
  const match = typeof expression === 'string' ? jsonFileExpression.exec(expression) : null;
  if (match === null) return undefined;
  let value: unknown = JSON.parse(readFileSync(join(configuration.directory, match[1] as string), 'utf8'));
  for (const attribute of (match[2] as string).split('.').filter(Boolean)) value = isBody(value) ? value[attribute] : undefined;
  return value;
}
