// Runs the KMS stand-in on its own: `tsx local/kms-standin-cli.ts [--data-dir D] [--port P] [--key NAME]...`.
import { parseArgs } from 'node:util';
import { startKmsStandin } from './kms-standin/server.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: '.local/kms' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    key: { type: 'string', multiple: true, default: [] },
    'in-memory': { type: 'boolean', default: false },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError('--port must be 0-65535');

const kms = await startKmsStandin({
  host: values.host,
  port,
  ...(values['in-memory'] ? {} : { dataDir: values['data-dir'] }),
});
for (const keyName of values.key) kms.ensureKey(keyName);
process.stdout.write(`KMS_API_ENDPOINT=${kms.endpoint}\n`);
for (const keyName of values.key) process.stdout.write(`KMS_KEY_NAME=${keyName}\n`);

const stop = (): void => {
  kms.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
