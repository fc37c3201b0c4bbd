// Preloaded (node --import) into each local function process: Cloud Run hands an instance at most its configured
// number of requests at once (max_instance_request_concurrency, the `concurrency` of the function manifest) and holds
// the rest in front of it until one finishes. A bare Node server takes any number at once instead: at 1,000 in flight
// every request's steps interleave with every other's, the event loop's turns grow to a second, and work that must run
// promptly (the token cache's heartbeat echoes, timers) waits behind all of them. This gate holds the rest here, in
// arrival order, as the platform does. The limit comes in the import's own URL: `?concurrency=N`.
import http from 'node:http';

const limit = Number(new URL(import.meta.url).searchParams.get('concurrency'));
if (!Number.isInteger(limit) || limit < 1) throw new TypeError('instance-concurrency.js needs ?concurrency=N (a positive integer) in its import URL');

const emit = http.Server.prototype.emit;
let active = 0;
/** Requests waiting for a turn; one whose client went away meanwhile is skipped. */
const waiting = [];

function admit(server, request, response) {
  active += 1;
  let released = false;
  response.once('close', () => {
    if (released) return;
    released = true;
    active -= 1;
    for (let next = waiting.shift(); next !== undefined; next = waiting.shift()) {
      if (next.abandoned) continue;
      next.response.removeListener('close', next.abandon);
      admit(next.server, next.request, next.response);
      return;
    }
  });
  emit.call(server, 'request', request, response);
}

http.Server.prototype.emit = function emitWithinConcurrency(event, ...args) {
  if (event !== 'request') return emit.call(this, event, ...args);
  const [request, response] = args;
  if (active < limit) {
    admit(this, request, response);
  } else {
    const entry = { server: this, request, response, abandoned: false, abandon: () => (entry.abandoned = true) };
    response.once('close', entry.abandon);
    waiting.push(entry);
  }
  return true;
};
