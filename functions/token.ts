// The `token` function: an internal service, authenticated by its Google ID token and the caller policy, gets a fresh access token.
import { http } from '@google-cloud/functions-framework';
import { authenticateCaller } from '../shared/auth/authenticate-caller.js';
import { functionConfig } from './config-reads.js';
import { BrokerError } from '../shared/errors/broker-error.js';
import { httpFunction, sendJson } from '../shared/http/http-function.js';
import { JSON_REQUEST_BODY_LIMIT_BYTES } from '../shared/http/request-body-limits.js';
import { tenantIdOf } from '../shared/quotas/request-quotas.js';
import { createBrokerRuntime } from '../shared/usecases/broker-runtime.js';
import { drainAfterChange } from '../shared/usecases/events/drain-after-change.js';
import type { RequestEffects } from '../shared/usecases/refresh/refresh-engine.js';
import { tokenRequestSchema } from '../shared/usecases/token/token-request.js';
import { createTokenService } from '../shared/usecases/token/token-service.js';

const runtime = createBrokerRuntime(functionConfig('token'));
const tokens = createTokenService(runtime);
http(
  'token',
  httpFunction({ functionName: 'token', methods: ['POST'], maxBodyBytes: JSON_REQUEST_BODY_LIMIT_BYTES, logger: () => runtime.logger }, async (req, res, { logger }) => {
    // Who is asking comes first: nothing about the request is looked at for an unauthenticated caller.
    const caller = await authenticateCaller(req, runtime.idTokenVerifier());
    runtime.requestQuotas().admit({ functionName: 'token', callerEmail: caller.email, tenantId: tenantIdOf(req.body) });
    if (!req.is('application/json')) throw new BrokerError('unsupported_media_type', 'Send the request as application/json');
    const parsed = tokenRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      throw new BrokerError('invalid_request', 'The token request is invalid', {
        details: { fields: parsed.error.issues.map((issue) => issue.path.join('.') || '(body)') },
      });
    }
    // Most reads change nothing; a read whose refresh stored something (or a failure) may have moved the status,
    // and its event is drained before this request answers. The signal is this request's own.
    const effects: RequestEffects = { stateChanged: false };
    let body;
    try {
      body = await tokens.read(caller, parsed.data, effects);
    } finally {
      if (effects.stateChanged) await drainAfterChange(runtime, { logger });
    }
    sendJson(res, 200, body);
  }),
);
