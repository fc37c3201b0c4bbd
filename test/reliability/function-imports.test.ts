// Cold start: loading every deployed function's module pulls in none of the heavy clients only some branches use
// (KMS, Pub/Sub, Gmail, Slack, Scheduler); they load on first use. `npm run bench` prints the timings.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { existingFunctionNames } from '../support/functions-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LAZY_PACKAGES = ['@google-cloud/kms', '@google-cloud/pubsub', '@googleapis/gmail', '@slack/web-api', '@google-cloud/scheduler'] as const;

// Runs in a fresh node: imports the function modules, lists which lazy packages got loaded, then loads them all as a control.
const probe = (urls: readonly string[]) => `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const loaded = () => ${JSON.stringify(LAZY_PACKAGES)}.filter((name) => Object.keys(require.cache).some((file) => file.includes('/node_modules/' + name + '/')));
for (const url of ${JSON.stringify(urls)}) await import(url);
const afterFunctions = loaded();
for (const name of ${JSON.stringify(LAZY_PACKAGES)}) await import(name);
console.log(JSON.stringify({ afterFunctions, afterControl: loaded() }));
process.exit(0);
`;

describe('function cold start', () => {
  it('importing every function loads none of the clients only some branches use', async () => {
    const names = existingFunctionNames();
    expect(names.length).toBeGreaterThan(0);
    const urls = names.map((name) => pathToFileURL(path.join(root, 'functions', `${name}.ts`)).href);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe(urls)], {
      cwd: root,
      timeout: 120_000,
      // The token function builds its runtime (config only, no clients) when it loads.
      env: { ...process.env, GOOGLE_CLOUD_PROJECT: 'cold-start', METADATA_SERVER_DETECTION: 'none', ID_TOKEN_AUDIENCES: 'https://cold-start.example.test' },
    });
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { afterFunctions: string[]; afterControl: string[] };
    expect(result.afterFunctions, `loaded by ${names.join(', ')}`).toEqual([]);
    // The probe sees these packages once they are loaded: the check above can fail.
    expect(result.afterControl).toEqual([...LAZY_PACKAGES]);
  });
});
