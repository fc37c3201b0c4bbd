// A Cloud Run Admin API v2 stand-in on loopback: services.get and services.getIamPolicy for the services it is told about.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandinService {
  readonly invokerIamDisabled?: boolean;
  /** INGRESS_TRAFFIC_ALL unless set. */
  readonly ingress?: string;
  readonly bindings?: readonly { readonly role: string; readonly members: readonly string[] }[];
}

export interface CloudRunAdminStandin {
  /** What CLOUD_RUN_ADMIN_API_URL should be set to. */
  readonly url: string;
  /** Declares (or replaces) a service by its full name projects/P/locations/R/services/S. */
  setService(name: string, service: StandinService): void;
  /** Answer every request with this status (a Google-style error body) until cleared with undefined. */
  failWith(status: number | undefined): void;
  requestCounts(): { service: number; policy: number };
  /** The Authorization header of every request, in order. */
  authorizations(): readonly string[];
  resetCounts(): void;
  stop(): Promise<void>;
}

function errorBody(status: number, message: string): string {
  const statusName = { 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' }[status] ?? 'UNKNOWN';
  return JSON.stringify({ error: { code: status, message, status: statusName } });
}

export async function startCloudRunAdminStandin(): Promise<CloudRunAdminStandin> {
  const services = new Map<string, StandinService>();
  const counts = { service: 0, policy: 0 };
  const authorizations: string[] = [];
  let failure: number | undefined;

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://standin');
    const match = /^\/v2\/(projects\/[^/]+\/locations\/[^/]+\/services\/[^/:]+)(:getIamPolicy)?$/.exec(url.pathname);
    const send = (status: number, body: string) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      response.end(body);
    };
    if (request.method !== 'GET' || !match) return send(404, errorBody(404, 'Not found'));
    const [, name = '', policy] = match;
    counts[policy ? 'policy' : 'service'] += 1;
    authorizations.push(request.headers.authorization ?? '');
    if (failure !== undefined) return send(failure, errorBody(failure, 'The stand-in was told to fail'));
    if (!/^Bearer \S+$/.test(request.headers.authorization ?? '')) return send(401, errorBody(401, 'Request is missing required authentication credential'));
    const service = services.get(name);
    if (service === undefined) return send(404, errorBody(404, `Resource '${name}' was not found`));
    if (policy) {
      const bindings = service.bindings ?? [];
      return send(200, JSON.stringify({ version: 1, etag: 'BwYstandin=', ...(bindings.length > 0 ? { bindings } : {}) }));
    }
    // Proto3 JSON: a false boolean is left out, as the real API does.
    return send(
      200,
      JSON.stringify({
        name,
        uid: '00000000-0000-0000-0000-000000000000',
        ingress: service.ingress ?? 'INGRESS_TRAFFIC_ALL',
        ...(service.invokerIamDisabled ? { invokerIamDisabled: true } : {}),
        uri: `https://${name.split('/').pop()}-standin.a.run.app`,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    setService: (name, service) => {
      services.set(name, service);
    },
    failWith: (status) => {
      failure = status;
    },
    requestCounts: () => ({ ...counts }),
    authorizations: () => [...authorizations],
    resetCounts: () => {
      counts.service = 0;
      counts.policy = 0;
      authorizations.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
