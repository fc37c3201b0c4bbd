// The physical floor of this box: a bare Node `http` server answering a fixed body, in a process of its own like
// a function. Prints its port as one JSON line; stops when its parent disconnects.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = JSON.stringify({ accessToken: 'fixed-body-floor', tokenType: 'Bearer', expiresAt: null, scopes: [] });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', 4096, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('disconnect', () => process.exit(0));
