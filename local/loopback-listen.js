// Preloaded (node --import) into each local function process: the Functions Framework listens on every interface,
// Cloud Run's sandbox being the only network it sees; on a developer's machine the functions listen on loopback only.
// The accept backlog is raised as well: Cloud Run queues a burst of requests in front of an instance, while Node's
// default backlog (511) would drop part of a burst of new connections from the stack's front proxy.
import net from 'node:net';

const LISTEN_BACKLOG = 4096;
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  // listen(port[, callback]), as the framework calls it: add the host and the backlog between them.
  const port = args[0];
  if (typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1', LISTEN_BACKLOG);
  }
  return listen.apply(this, args);
};
