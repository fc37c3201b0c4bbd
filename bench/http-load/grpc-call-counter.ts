// A plaintext HTTP/2 proxy in front of the Firestore emulator that counts gRPC calls by method, so the benchmark can
// count what a token process really asks of Firestore (a process's FIRESTORE_EMULATOR_HOST points here instead).
import { type ClientHttp2Session, connect, constants, createServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface GrpcCallCounter {
  /** host:port, for FIRESTORE_EMULATOR_HOST. */
  readonly host: string;
  /** Calls since start or the last reset, by method name (e.g. BatchGetDocuments, RunQuery, Listen, Commit). */
  counts(): Readonly<Record<string, number>>;
  reset(): void;
  stop(): Promise<void>;
}

const hopHeaders = new Set([':method', ':path', ':scheme', ':authority', ':status', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !hopHeaders.has(name)) out[name] = value;
  return out;
}

export async function startGrpcCallCounter(upstreamHost: string): Promise<GrpcCallCounter> {
  // The emulator may end a session (GOAWAY, an idle close): the next call opens a new one.
  let upstream: ClientHttp2Session | undefined;
  const session = (): ClientHttp2Session => {
    if (upstream === undefined || upstream.closed || upstream.destroyed) {
      upstream = connect(`http://${upstreamHost}`);
      upstream.on('error', () => undefined);
    }
    return upstream;
  };
  let counts: Record<string, number> = {};
  const server = createServer();
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    const path = String(headers[':path'] ?? '');
    const method = path.slice(path.lastIndexOf('/') + 1);
    counts[method] = (counts[method] ?? 0) + 1;
    let outgoing: ReturnType<ClientHttp2Session['request']>;
    try {
      outgoing = session().request({ ':method': String(headers[':method']), ':path': path, ...forwardable(headers) }, { endStream: false });
    } catch {
      // A session going away between the check and the call: the client sees a failed call and retries as it would.
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    stream.pipe(outgoing);
    outgoing.on('response', (responseHeaders) => {
      if (stream.destroyed) return;
      // A trailers-only answer (a gRPC error before any message) carries its status in these headers and ends here.
      if (responseHeaders['grpc-status'] !== undefined) {
        stream.respond({ ':status': Number(responseHeaders[':status'] ?? 200), ...forwardable(responseHeaders) }, { endStream: true });
        return;
      }
      stream.respond({ ':status': Number(responseHeaders[':status'] ?? 200), ...forwardable(responseHeaders) }, { waitForTrailers: true });
      outgoing.pipe(stream);
    });
    let trailers: Record<string, string | string[]> = {};
    outgoing.on('trailers', (received) => (trailers = forwardable(received)));
    stream.on('wantTrailers', () => {
      // gRPC's status travels in trailers; they arrive before the upstream stream ends.
      const send = () => (stream.destroyed ? undefined : stream.sendTrailers(trailers));
      if (outgoing.readableEnded) send();
      else outgoing.once('end', send);
    });
    const cancel = () => outgoing.close(constants.NGHTTP2_CANCEL);
    stream.on('close', () => {
      if (!outgoing.closed) cancel();
    });
    outgoing.on('close', () => {
      if (!stream.closed && !stream.headersSent) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    });
    outgoing.on('error', () => stream.destroy());
    stream.on('error', () => outgoing.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
    stop: () =>
      new Promise((resolve) => {
        upstream?.close();
        server.close(() => resolve());
      }),
  };
}
