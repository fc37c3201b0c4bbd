// Extracts Cloud Trace correlation from W3C `traceparent` or the legacy `X-Cloud-Trace-Context`.
export interface TraceContext {
  readonly traceId: string;
  readonly spanId?: string;
  readonly sampled?: boolean;
}

type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}

const traceparentShape = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const cloudTraceShape = /^([0-9a-fA-F]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?$/;

export function traceFromHeaders(headers: HeaderBag): TraceContext | undefined {
  const traceparent = header(headers, 'traceparent')?.trim();
  const w3c = traceparent ? traceparentShape.exec(traceparent) : null;
  if (w3c && w3c[2] !== '0'.repeat(32)) {
    return { traceId: w3c[2]!, spanId: w3c[3]!, sampled: (Number.parseInt(w3c[4]!, 16) & 1) === 1 };
  }
  const legacy = header(headers, 'x-cloud-trace-context')?.trim();
  const cloud = legacy ? cloudTraceShape.exec(legacy) : null;
  if (cloud) {
    const spanDecimal = cloud[2];
    return {
      traceId: cloud[1]!.toLowerCase(),
      // Cloud Logging wants the span id as 16 hex digits; the legacy header carries it in decimal.
      ...(spanDecimal ? { spanId: BigInt(spanDecimal).toString(16).padStart(16, '0').slice(-16) } : {}),
      ...(cloud[3] ? { sampled: cloud[3] === '1' } : {}),
    };
  }
  return undefined;
}
