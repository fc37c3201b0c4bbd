// Finds a TCP port nobody listens on, by letting the kernel pick one for a throwaway listener.
import { createServer } from 'node:net';

/**
 * The port is free when this resolves, not reserved: another process may take it before the caller
 * binds it, so callers that start a server on it should retry on "address in use".
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`Could not read the port of a listener on ${host}`));
        return;
      }
      server.close((error) => (error ? reject(error) : resolve(address.port)));
    });
  });
}
