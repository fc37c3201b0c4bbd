// Formatting: each file must equal what @cdktf/hcl-tools format() (terraform fmt's rules) makes of it.
import { format } from '@cdktf/hcl-tools';
import type { Finding } from './findings.js';
import type { Configuration } from './load-configuration.js';

export async function checkFormat(configuration: Configuration): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const file of configuration.files) {
    const formatted = await format(file.source);
    if (formatted === file.source) continue;
    const ours = file.source.split('\n');
    const theirs = formatted.split('\n');
    let line = 0;
    while (line < ours.length && ours[line] === theirs[line]) line += 1;
    findings.push({
      file: file.path,
      line: line + 1,
      rule: 'format',
      message: `is not formatted (first difference at this line; expected ${JSON.stringify(theirs[line] ?? '')}); run terraform fmt`,
    });
  }
  return findings;
}
