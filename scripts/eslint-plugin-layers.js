// A local ESLint rule for the import direction of STYLE.md: functions → use cases → adapters → foundation.
// Written here rather than taken from eslint-plugin-import-x, whose native resolver has platform packages
// the npm registry mirror lacks (which breaks `npm ci`). Cycles are checked by test/scripts/import-cycles.test.ts.
import { dirname, join, relative, resolve, sep } from 'node:path';
import { sharedLayers } from './layers.js';

const repoRoot = dirname(dirname(new URL(import.meta.url).pathname));
const layerOfFolder = new Map(sharedLayers.flatMap((layer, index) => layer.folders.map((folder) => [folder, index])));
const outsideDeployables = ['test', 'bench', 'scripts', 'local'];
// What the package ships (deployed functions, the client library, the operator CLI): none of it may reach into the tools.
const shippedAreas = ['functions', 'client', 'cli'];
// The client package's wire contract: the one declaration of what travels between broker and callers. The server
// builds on it, so shared/ may import it; it imports nothing, so that import brings nothing else along.
const wireContract = join('client', 'wire.ts');
const isWireContract = (path) => relative(repoRoot, path).replace(/\.js$/, '.ts') === wireContract;

/** Where a repository path sits: a shared/ layer (0 = top), functions/, or another top-level folder. */
function placeOf(path) {
  const parts = relative(repoRoot, path).split(sep);
  if (parts[0] === 'shared') {
    const layer = layerOfFolder.get(parts[1]);
    return { area: 'shared', folder: parts[1], layer };
  }
  return { area: parts[0] ?? '' };
}

function check(context, node, source) {
  if (typeof source !== 'string') return;
  const report = (message) => context.report({ node, message });
  if (isWireContract(context.filename)) {
    report(`${wireContract} is the wire contract shared/ builds on: it imports nothing, not even a package.`);
    return;
  }
  if (!source.startsWith('.')) return;
  const from = placeOf(context.filename);
  const target = resolve(dirname(context.filename), source);
  const to = placeOf(target);
  if (from.area === 'shared') {
    if (isWireContract(target)) return;
    if (to.area !== 'shared') {
      report(`shared/ must not import from ${to.area}/: the library never depends on functions, tests or tools.`);
    } else if (from.layer === undefined || to.layer === undefined) {
      report(`shared/${from.layer === undefined ? from.folder : to.folder} has no layer in scripts/layers.js.`);
    } else if (to.layer < from.layer) {
      report(`shared/${to.folder} (${sharedLayers[to.layer].name}) sits above shared/${from.folder}: imports point downward (STYLE.md).`);
    }
  } else if (shippedAreas.includes(from.area) && outsideDeployables.includes(to.area)) {
    report(`${from.area}/ ships in the package: it must not import from ${to.area}/.`);
  } else if (from.area === 'local' && ['test', 'bench'].includes(to.area)) {
    // The local platform is a product of its own (npm start): the test harness builds on it, never the reverse.
    report(`local/ must not import from ${to.area}/: the local platform never depends on the test harness.`);
  }
}

export const layersPlugin = {
  rules: {
    'import-direction': {
      meta: { type: 'problem', schema: [], docs: { description: 'Imports point downward through the layers of shared/.' } },
      create(context) {
        return {
          ImportDeclaration: (node) => check(context, node, node.source.value),
          ExportNamedDeclaration: (node) => node.source && check(context, node, node.source.value),
          ExportAllDeclaration: (node) => check(context, node, node.source.value),
          ImportExpression: (node) => node.source.type === 'Literal' && check(context, node, node.source.value),
        };
      },
    },
  },
};
