// In one process, for test harnesses that drive every function together (fuzzing, the fault matrix): each function
// mounted at /<function-name> through the real Functions Framework. The local stack runs each as its own process.
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { type FunctionName, functionNames } from '../../functions/names.js';

const functionsDir = fileURLToPath(new URL('../../functions/', import.meta.url));

function functionModulePath(name: FunctionName): string | undefined {
  return [`${functionsDir}${name}.ts`, `${functionsDir}${name}.js`].find((path) => existsSync(path));
}

export function existingFunctionNames(): FunctionName[] {
  return functionNames.filter((name) => functionModulePath(name) !== undefined);
}

export interface FunctionsServer {
  readonly origin: string;
  readonly port: number;
  /** The functions mounted so far. */
  readonly functions: readonly FunctionName[];
  urlOf(name: FunctionName): string;
  /**
   * Imports every function module (each registers itself with the framework) and mounts it under /<name>.
   * Separate from listening because functions read their configuration, which names their own URLs
   * (ID-token audiences), when they load.
   */
  mountFunctions(): Promise<readonly FunctionName[]>;
  /** Serves a local-only page or endpoint (e.g. the demo) at /<prefix>; never a deployed function's name. */
  mountLocal(prefix: string, listener: RequestListener): void;
  stop(): Promise<void>;
}

const LISTEN_BACKLOG = 4096;

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ type: 'urn:oauth-broker:problem:not_found', title: 'No such function', status: 404, code: 'not_found' }));
}

export async function startFunctionsServer(options: { port: number; host?: string }): Promise<FunctionsServer> {
  const listeners = new Map<string, RequestListener>();
  const mounted: FunctionName[] = [];

  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, first = '', ...rest] = url.pathname.split('/');
    const listener = listeners.get(first);
    if (!listener) {
      notFound(res);
      return;
    }
    // Cloud Run serves each function at its own root: strip the /<name> prefix before handing over.
    req.url = `/${rest.join('/')}${url.search}`;
    listener(req, res);
  };

  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer(route);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Node's default accept backlog (511) drops part of a burst of new connections (the load bench opens 1,000
    // at once) and the kernel retries them a second later; the kernel still caps this at net.core.somaxconn.
    server.listen({ port: options.port, host, backlog: LISTEN_BACKLOG }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host}:${port}`;
  return {
    origin,
    port,
    functions: mounted,
    urlOf: (name) => `${origin}/${name}`,
    async mountFunctions() {
      for (const name of existingFunctionNames()) {
        if (listeners.has(name)) continue;
        // @vite-ignore: vitest's dynamic-import-vars transform globs for .js files and finds only .ts ones;
        // left alone, the import resolves at run time under vitest and tsx alike.
        // A computed file URL: the loaders behind vitest and tsx both import it as a plain module.
        await import(/* @vite-ignore */ pathToFileURL(functionModulePath(name)!).href);
        const framework = getTestServer(name);
        const listener = framework.listeners('request')[0] as RequestListener | undefined;
        if (!listener) throw new Error(`The Functions Framework server for ${name} has no request listener`);
        listeners.set(name, listener);
        mounted.push(name);
      }
      return mounted;
    },
    mountLocal(prefix, listener) {
      if ((functionNames as readonly string[]).includes(prefix)) throw new TypeError(`${prefix} is a function name`);
      listeners.set(prefix, listener);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
