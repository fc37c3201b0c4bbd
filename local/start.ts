// `npm start`: runs the whole broker locally and prints where everything is; Ctrl-C stops it all.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionName } from '../functions/names.js';
import { startLocalStack } from './local-stack.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 8080;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`PORT must be a port number (0-65535), got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return port;
}

const startedAt = performance.now();
const say = (line: string) => process.stdout.write(`${line}\n`);

say('oauth-broker: starting the local stack…');
// OAUTH_BROKER_STATE_DIR moves .local/ elsewhere (the start-up test uses it to leave a developer's stack alone).
const stateDir = process.env.OAUTH_BROKER_STATE_DIR || join(repoRoot, '.local');
// Each function's JSON log lines go to its own file, as Cloud Logging keeps them per service.
const logDir = join(stateDir, 'logs');
mkdirSync(logDir, { recursive: true, mode: 0o700 });
const logFiles = new Map<FunctionName, WriteStream>();
const logTo = (name: FunctionName, line: string) => {
  let file = logFiles.get(name);
  if (file === undefined) {
    file = createWriteStream(join(logDir, `${name}.log`), { flags: 'a', mode: 0o600 });
    logFiles.set(name, file);
  }
  file.write(`${line}\n`);
};
const stack = await startLocalStack({
  onFunctionLog: logTo,
  repoRoot,
  stateDir,
  port: parsePort(process.env.PORT),
  env: process.env,
  onProgress: (line) => say(`  ${line}`),
}).catch(
  (error: unknown) => {
    process.stderr.write(`\nThe local stack could not start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

const { description } = stack;
const functionLines = Object.entries(description.functions).map(
  ([name, url]) => `  ${name.padEnd(11)} ${url.padEnd(40)} pid ${String(description.functionProcesses[name]?.pid).padEnd(7)} (${description.functionProcesses[name]?.origin})`,
);
say('');
say(`Functions on ${description.functionsOrigin}, each its own process from dist/ with its manifest's environment:`);
say(functionLines.join('\n'));
say(`Function logs: ${logDir}/<function>.log`);
say('');
say(`Stack description: ${join(stateDir, 'stack.json')}`);
say(`Provider sandbox: ${description.providerSandbox.origin} plays ${description.providerSandbox.providers.join(', ')}`);
say(`Local demo caller: ${description.demoCaller} (tenant ${description.demoTenant})`);
say(`Connect a sandbox account: open ${description.functionsOrigin}/demo/ in a browser`);
say('Call a function as that caller:');
say(`  npm run -s local:id-token -- --email ${description.demoCaller} --audience ${description.functionsOrigin}/token`);
say('');
say(`Ready in ${((performance.now() - startedAt) / 1000).toFixed(1)} s. Press Ctrl-C to stop.`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  say(`\n${signal}: stopping…`);
  await stack.stop();
  say('Stopped.');
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
