// The `proxy` function: an internal service, authenticated like `token` (its Google ID token and the caller policy),
// calls a provider's API through the broker; the connection's token is attached here and never leaves the broker.
import { http } from '@google-cloud/functions-framework';
import { brokerErrorHeader } from '../client/wire.js';
import { authenticateCaller } from '../shared/auth/authenticate-caller.js';
import { apiMethods } from '../shared/config/caller-policy-schema.js';
import { isBrokerError } from '../shared/errors/broker-error.js';
import { httpFunction } from '../shared/http/http-function.js';
import { requestBodySource } from '../shared/http/streamed-body.js';
import { createBrokerRuntime } from '../shared/usecases/broker-runtime.js';
import { drainAfterChange } from '../shared/usecases/events/drain-after-change.js';
import { PROXY_REQUEST_BODY_LIMIT_BYTES } from '../shared/usecases/proxy/provider-api-request.js';
import { createProxyService } from '../shared/usecases/proxy/proxy-service.js';
import type { RequestEffects } from '../shared/usecases/refresh/refresh-engine.js';
import { functionConfig } from './config-reads.js';

const runtime = createBrokerRuntime(functionConfig('proxy'));
const proxy = createProxyService(runtime);
http(
  'proxy',
  httpFunction(
    { functionName: 'proxy', methods: apiMethods, maxBodyBytes: PROXY_REQUEST_BODY_LIMIT_BYTES, body: 'streamed', logger: () => runtime.logger },
    async (req, res, { logger }) => {
      // A call that refreshed or marked the connection's health has events to publish: drained before the answer
      // begins (as the token read does), or at the end for a call that failed before it.
      const effects: RequestEffects = { stateChanged: false };
      const drained = async () => {
        if (!effects.stateChanged) return;
        effects.stateChanged = false;
        await drainAfterChange(runtime, { logger });
      };
      try {
        // Who is asking comes first: nothing about the request is looked at for an unauthenticated caller.
        const caller = await authenticateCaller(req, runtime.idTokenVerifier());
        await proxy.call(
          caller,
          { method: req.method, target: req.url, headers: req, body: requestBodySource(req) },
          {
            async start(status, statusMessage, headers) {
              await drained();
              // Repeated headers stay separate lines; the provider's own caching headers replace the broker's no-store.
              const grouped = new Map<string, string[]>();
              for (const [name, value] of headers) grouped.set(name, [...(grouped.get(name) ?? []), value]);
              for (const [name, values] of grouped) res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
              res.writeHead(status, statusMessage);
              return res;
            },
            abort: () => res.destroy(),
          },
          effects,
        );
      } catch (error) {
        // Marks the broker's own refusals and failures, so a caller tells them from the provider's answers.
        if (!res.headersSent) res.setHeader(brokerErrorHeader, isBrokerError(error) ? error.code : 'internal');
        throw error;
      } finally {
        await drained();
      }
    },
  ),
);
