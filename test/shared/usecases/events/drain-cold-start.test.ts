// Importing the drain and creating its publisher must not load @google-cloud/pubsub: functions that never publish never pay for it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

// Runs in a fresh Node: counts @google-cloud/pubsub modules loaded after each step.
const probe = (drainUrl: string, publisherUrl: string) => `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const pubsubModules = () => Object.keys(require.cache).filter((file) => /node_modules[\\\\/]@google-cloud[\\\\/]pubsub[\\\\/]/.test(file)).length;
await import(${JSON.stringify(drainUrl)});
const publisher = await import(${JSON.stringify(publisherUrl)});
publisher.eventPublisherOf({ config: { events: { topic: 'projects/p/topics/t', emulatorHost: '127.0.0.1:1', publishTimeoutMs: 1000 } } });
const afterCreate = pubsubModules();
await import('@google-cloud/pubsub');
console.log(JSON.stringify({ afterCreate, afterImport: pubsubModules() }));
`;

describe('cold start', () => {
  it('importing the drain and creating a publisher loads no Pub/Sub client code', async () => {
    const drainUrl = pathToFileURL(path.join(root, 'shared/usecases/events/drain-connection-events.ts')).href;
    const publisherUrl = pathToFileURL(path.join(root, 'shared/usecases/events/runtime-event-publisher.ts')).href;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', probe(drainUrl, publisherUrl)],
      { cwd: root, timeout: 60_000 },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { afterCreate: number; afterImport: number };
    expect(result.afterCreate).toBe(0);
    // The probe sees the library once it is loaded: the check above can fail.
    expect(result.afterImport).toBeGreaterThan(10);
  });
});
