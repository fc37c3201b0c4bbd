// What the Terraform checker reports: one finding per problem, with the file and line it is about.
export const findingRules = ['parse', 'format', 'schema', 'reference', 'security', 'functions', 'convention'] as const;
export type FindingRule = (typeof findingRules)[number];

export interface Finding {
  /** Path as given to the checker (relative to the repository root for the CLI). */
  readonly file: string;
  readonly line: number;
  readonly rule: FindingRule;
  readonly message: string;
}

export function formatFinding(finding: Finding): string {
  return `${finding.file}:${finding.line}: [${finding.rule}] ${finding.message}`;
}

/** Sorted by file and line, with exact repeats (one expression referenced twice) dropped. */
export function orderFindings(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return [...findings]
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.message.localeCompare(b.message))
    .filter((finding) => {
      const key = formatFinding(finding);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}
