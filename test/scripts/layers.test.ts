import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sharedLayers } from '../../scripts/layers.js';

const sharedDir = fileURLToPath(new URL('../../shared/', import.meta.url));

describe('import layers', () => {
  it('assign every folder of shared/ to exactly one layer, so the lint rule covers it', () => {
    const folders = readdirSync(sharedDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    const assigned = sharedLayers.flatMap((layer) => layer.folders);
    expect(new Set(assigned).size).toBe(assigned.length);
    for (const folder of folders) expect(assigned, `shared/${folder} has no layer in scripts/layers.js`).toContain(folder);
  });
});
