// Preloaded (node --import) into each local function process: the Functions Framework listens on every interface,
// Cloud Run's sandbox being the only network it sees; on a developer's machine the functions listen on loopback only.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  // listen(port[, callback]) as the framework calls it: add the host between them.
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
