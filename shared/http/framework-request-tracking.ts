// The Functions Framework tracks each HTTP request two ways, and either one switches on async-resource tracking that
// Node never switches off again, after which every promise and async resource in the process pays for hooks:
// - a `domain` (node:domain): `domain.create()`, `d.on('error')`, `d.run(() => process.nextTick(() => execute(req, res)))`.
//   Its async hook tracks init, before, after and destroy: measured at about 0.2 ms of CPU per warm token read (13 % of
//   it), with the domain left at the first line of every handler;
// - an AsyncLocalStorage middleware holding the execution id, on every request whatever the options, read only by the
//   framework's own logger when LOG_EXECUTION_ID is set. Its init hook runs for every promise (about 0.1 ms of a warm
//   proxied call in a CPU profile). Our functions log through their own logger, with the trace from the request.
// Neither guards anything of ours: httpFunction's handler is an async function whose whole chain sits in a try/catch
// (the per-request boundary), the framework still catches a rejected handler promise (`ret.catch`), and its
// process-level `uncaughtException` handler still answers and restarts the instance for anything thrown outside a
// request's chain. So the framework is given a domain that runs the request as the real one would and tracks nothing,
// and a middleware that passes the request on; the framework and its wiring are otherwise untouched.
import domain from 'node:domain';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** What the framework's HTTP wrapper uses of a domain: an 'error' listener and `run`. */
class UntrackedRequestDomain extends EventEmitter {
  run<T>(work: () => T): T {
    return work();
  }
}

type Middleware = (req: unknown, res: unknown, next: () => void) => void;

/**
 * The framework's module that holds its AsyncLocalStorage middleware. Its package exports only its entry, so the file
 * is found beside the entry; the server module reads the middleware from this same module object when it builds the app.
 */
function frameworkContextModule(): { asyncLocalStorageMiddleware: Middleware } {
  const require = createRequire(import.meta.url);
  const contextModule = require(join(dirname(require.resolve('@google-cloud/functions-framework')), 'async_local_storage.js')) as { asyncLocalStorageMiddleware?: unknown };
  if (typeof contextModule.asyncLocalStorageMiddleware !== 'function') {
    throw new TypeError('The Functions Framework no longer has its asyncLocalStorageMiddleware: review framework-request-tracking.ts for this version');
  }
  return contextModule as { asyncLocalStorageMiddleware: Middleware };
}

let replaced = false;

/** Idempotent; httpFunction calls it, so it is in place before the framework builds its server. */
export function replaceFrameworkRequestTracking(): void {
  if (replaced) return;
  replaced = true;
  (domain as { create: () => unknown }).create = () => new UntrackedRequestDomain();
  frameworkContextModule().asyncLocalStorageMiddleware = (_req, _res, next) => next();
}
