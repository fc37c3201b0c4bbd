// The KMS stand-in and the provider sandbox in a process of their own, for a benchmark whose broker process should run
// the broker only, as in production, where KMS and the provider are other machines. Their CPU still shares this box, so
// the benchmark reads it (`pid`). The sandbox is driven through its HTTP admin API.
import { fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startKmsStandin } from '../local/kms-standin/server.js';
import { startProviderSandbox } from '../local/provider-sandbox/provider-sandbox.js';
import type { RegisteredClient } from '../local/provider-sandbox/sandbox-state.js';

const CHILD_FLAG = '--standins-child';

export interface StandinsSetup {
  readonly keyName: string;
  readonly clients: Readonly<Record<string, RegisteredClient>>;
}

export interface StandinsProcess {
  readonly pid: number;
  readonly kmsEndpoint: string;
  readonly originOverrides: Readonly<Record<string, string>>;
  /** POST /__admin/providers/{id}: the same settings ProviderSandbox.configure takes. */
  configure(provider: string, settings: { readonly latencyMs: number }): Promise<void>;
  resetCalls(): Promise<void>;
  /** Calls the sandbox received since the last reset, faulted ones included. */
  calls(provider: string, endpoint: string): Promise<number>;
  stop(): Promise<void>;
}

interface Started {
  readonly kmsEndpoint: string;
  readonly sandboxOrigin: string;
  readonly originOverrides: Record<string, string>;
}

async function admin(origin: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const answer = await fetch(`${origin}/__admin/${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  if (!answer.ok) throw new Error(`sandbox admin ${method} ${path}: HTTP ${answer.status}`);
  return answer.json();
}

export async function startStandinsProcess(setup: StandinsSetup): Promise<StandinsProcess> {
  const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG, JSON.stringify(setup)], { execArgv: process.execArgv, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  const started = await new Promise<Started>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as Started));
    child.once('exit', (code) => reject(new Error(`the stand-ins process exited (${code}) before it started`)));
  });
  const origin = started.sandboxOrigin;
  return {
    pid: child.pid as number,
    kmsEndpoint: started.kmsEndpoint,
    originOverrides: started.originOverrides,
    configure: async (provider, settings) => void (await admin(origin, 'POST', `providers/${provider}`, settings)),
    resetCalls: async () => void (await admin(origin, 'POST', 'calls/reset')),
    calls: async (provider, endpoint) => ((await admin(origin, 'GET', 'calls')) as Record<string, number>)[`${provider}.${endpoint}`] ?? 0,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

if (process.argv[2] === CHILD_FLAG) {
  const setup = JSON.parse(process.argv[3] ?? '{}') as StandinsSetup;
  const [kms, sandbox] = await Promise.all([startKmsStandin(), startProviderSandbox()]);
  kms.ensureKey(setup.keyName);
  for (const [provider, client] of Object.entries(setup.clients)) sandbox.registerClient(provider, client);
  const started: Started = { kmsEndpoint: kms.endpoint, sandboxOrigin: sandbox.origin, originOverrides: { ...sandbox.originOverrides } };
  process.stdout.write(`${JSON.stringify(started)}\n`);
  process.once('SIGTERM', () => {
    Promise.allSettled([kms.stop(), sandbox.close()]).then(() => process.exit(0), () => process.exit(1));
  });
  // Gone with the benchmark, even when it dies without stopping this.
  process.once('disconnect', () => process.exit(0));
}
