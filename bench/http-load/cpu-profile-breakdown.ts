// Where a function process's CPU goes: a V8 CPU profile (`--cpu-prof`) of it, its samples within a time window
// attributed by the code they were in (self time) to the layers of the HTTP token path.
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** First match wins: the layer a sample's own code belongs to. */
const layers: readonly (readonly [string, RegExp])[] = [
  ['idle', /^\((idle)\)$/],
  ['garbage collection', /^\(garbage collector\)$/],
  ['Functions Framework, Express and body parsers', /node_modules\/(@google-cloud\/functions-framework|express|router|body-parser|raw-body|type-is|content-type|finalhandler|on-finished|iconv-lite|qs|send|accepts|negotiator|mime-types)\//],
  ['domains and async hooks', /^node:(domain|async_hooks|internal\/async_hooks|internal\/async_local_storage)/],
  ['Firestore client, gRPC, protobuf', /node_modules\/(@google-cloud\/firestore|@grpc|google-gax|protobufjs|@opentelemetry)\//],
  ['caller ID-token verification', /(\/dist\/shared\/auth\/|node_modules\/(google-auth-library|gtoken|jws|jwa|jose)\/)/],
  ['logging', /\/dist\/shared\/log\//],
  ['validation (zod)', /node_modules\/zod\//],
  ['token use case: policy, cache, engine, sealed credentials', /\/dist\/(shared\/(usecases|store|crypto|providers|oauth|quotas|errors)|functions)\//],
  ['our HTTP layer (gate, problem answers)', /\/dist\/shared\/http\//],
  ['Node HTTP, sockets and streams', /^node:(_http|net|internal\/(streams|http|stream_base_commons|net))|^node:stream/],
];

export interface CpuBreakdownRow {
  readonly layer: string;
  readonly cpuMs: number;
  /** Share of the busy (non-idle) time in the window. */
  readonly share: number;
}

/** `fromUs`/`toUs`: the window on the monotonic clock in microseconds (process.hrtime.bigint() / 1000n). */
export async function cpuBreakdown(profilePath: string, fromUs: number, toUs: number): Promise<CpuBreakdownRow[]> {
  const profile = JSON.parse(await readFile(profilePath, 'utf8')) as CpuProfile;
  const layerOfNode = new Map<number, string>();
  for (const node of profile.nodes) {
    const { functionName, url } = node.callFrame;
    const subject = url === '' ? `(${functionName.replace(/^\(|\)$/g, '')})` : url;
    const layer = layers.find(([, pattern]) => pattern.test(subject) || pattern.test(functionName))?.[0];
    layerOfNode.set(node.id, layer ?? (url === '' ? 'native and V8 internals' : 'other Node internals'));
  }
  const totals = new Map<string, number>();
  let timestamp = profile.startTime;
  for (const [index, nodeId] of profile.samples.entries()) {
    timestamp += profile.timeDeltas[index] ?? 0;
    if (timestamp < fromUs || timestamp > toUs) continue;
    const layer = layerOfNode.get(nodeId) ?? 'other Node internals';
    totals.set(layer, (totals.get(layer) ?? 0) + (profile.timeDeltas[index] ?? 0));
  }
  totals.delete('idle');
  const busyUs = [...totals.values()].reduce((sum, us) => sum + us, 0);
  return [...totals.entries()]
    .map(([layer, us]) => ({ layer, cpuMs: us / 1000, share: busyUs === 0 ? 0 : us / busyUs }))
    .sort((a, b) => b.cpuMs - a.cpuMs);
}
