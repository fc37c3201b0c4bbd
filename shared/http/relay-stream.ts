// Moves a body from one stream to another through a transform (the proxy's size caps), with back-pressure, and settles
// once the sink has taken everything or any of the three fails, destroying all three on failure as stream pipelines do.
//
// Not `stream/promises` `pipeline`: Node 20's pipeline makes an AbortController for every call and aborts it when the
// pipeline ends, and the DOMException that abort constructs (a stack trace each time) cost about 0.1 ms of a warm
// proxied call in a sampled CPU profile, with the signal's creation on top.
import { finished, type Readable, type Transform, type Writable } from 'node:stream';

export function relay(source: Readable, transform: Transform, sink: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      for (const stream of [source, transform, sink]) stream.destroy(error);
      reject(error);
    };
    // `finished` reports an error, or a premature close (a reply cut off, a caller gone), for each stream.
    finished(source, (error) => error && fail(error));
    finished(transform, (error) => error && fail(error));
    finished(sink, (error) => {
      if (error) return fail(error);
      if (settled) return;
      settled = true;
      resolve();
    });
    source.pipe(transform).pipe(sink);
  });
}
