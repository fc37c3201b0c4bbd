// Conventions that keep the configuration usable: pinned providers, described variables and outputs.
import type { Finding } from './findings.js';
import { bodiesOf, isBody, lineOfArgument } from './load-configuration.js';
import type { Configuration } from './load-configuration.js';
import type { SchemaSnapshot } from './provider-schema.js';
import { providerOfType } from './provider-schema.js';

/** Whether a `~> X.Y` / `~> X.Y.Z` / `= X.Y.Z` / `X.Y.Z` constraint admits `version`; other forms are not judged. */
export function constraintAdmits(constraint: string, version: string): boolean | undefined {
  const match = /^\s*(~>|=)?\s*(\d+)\.(\d+)(?:\.(\d+))?\s*$/.exec(constraint);
  if (match === null) return undefined;
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  const [, operator, wantMajor, wantMinor, wantPatch] = match;
  const want = [Number(wantMajor), Number(wantMinor), wantPatch === undefined ? undefined : Number(wantPatch)] as const;
  if (operator !== '~>') return major === want[0] && minor === want[1] && (want[2] === undefined || patch === want[2]);
  if (want[2] === undefined) return major === want[0] && minor >= want[1];
  return major === want[0] && minor === want[1] && patch >= want[2];
}

export function checkConventions(configuration: Configuration, snapshot: SchemaSnapshot): Finding[] {
  const findings: Finding[] = [];
  const required = new Map<string, { version: unknown; file: string; line: number }>();
  for (const block of configuration.blocks) {
    if (block.kind !== 'terraform') continue;
    for (const providers of bodiesOf(block.body.required_providers)) {
      for (const [name, requirement] of Object.entries(providers)) {
        const line = lineOfArgument(block.file, block.line, name);
        required.set(name, { version: isBody(requirement) ? requirement.version : undefined, file: block.file.path, line });
      }
    }
  }
  for (const [name, { version, file, line }] of required) {
    if (typeof version !== 'string' || version === '') {
      findings.push({ file, line, rule: 'convention', message: `required provider "${name}" has no version constraint: pin it` });
      continue;
    }
    const known = snapshot.providers[name];
    if (known !== undefined && constraintAdmits(version, known.providerVersion) === false) {
      findings.push({
        file,
        line,
        rule: 'convention',
        message: `required provider "${name}" is pinned to "${version}", which excludes ${known.providerVersion}, the version the schema snapshot was checked against; regenerate the snapshot`,
      });
    }
  }
  const used = new Set<string>();
  for (const block of configuration.blocks) {
    if ((block.kind === 'resource' || block.kind === 'data') && block.type !== undefined) {
      const provider = providerOfType(block.type, snapshot);
      if (provider !== undefined) used.add(provider);
    }
    if ((block.kind === 'variable' || block.kind === 'output') && typeof block.body.description !== 'string') {
      findings.push({ file: block.file.path, line: block.line, rule: 'convention', message: `${block.kind} "${block.name}" has no description` });
    }
  }
  const anchor = configuration.blocks[0];
  for (const provider of used) {
    if (!required.has(provider)) {
      findings.push({
        file: anchor?.file.path ?? '(terraform)',
        line: 1,
        rule: 'convention',
        message: `provider "${provider}" is used but not declared in terraform { required_providers } with a pinned version`,
      });
    }
  }
  return findings;
}
