// The docs point readers (and the RFC 9700 checklist points reviewers) at files: each of those must exist, so a
// renamed or deleted test cannot leave a checklist item "proven" by nothing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const documents = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** Relative Markdown link targets (no scheme, no pure anchors), without their #fragment. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => (match[1] as string).split('#')[0] as string)
    .filter((target) => target !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('documentation links', () => {
  it.each(documents)('%s links only to files that exist', (document) => {
    const markdown = readFileSync(join(repoRoot, document), 'utf8');
    const missing = relativeLinks(markdown).filter((target) => !existsSync(resolve(repoRoot, dirname(document), target)));
    expect(missing).toEqual([]);
  });

  it('the RFC 9700 checklist links to at least one test per applicable item', () => {
    const links = relativeLinks(readFileSync(join(repoRoot, 'docs/rfc9700-checklist.md'), 'utf8'));
    expect(links.filter((target) => target.includes('/test/') || target.startsWith('../test/')).length).toBeGreaterThan(10);
  });
});
