// callback (public): GET /start binds a connect flow to the browser and sends it to the provider; GET / is
// the OAuth redirect URI, which finishes the flow and sends the browser back to the product.
import * as functions from '@google-cloud/functions-framework';
import type { Response } from '@google-cloud/functions-framework';
import { functionConfig } from './config-reads.js';
import { lazy } from '../shared/async/lazy.js';
import { isBrokerError } from '../shared/errors/broker-error.js';
import { type ErrorCode, errorCodeTable } from '../shared/errors/error-codes.js';
import { httpFunction } from '../shared/http/http-function.js';
import { queryParameters } from '../shared/http/query-string.js';
import { type BrokerRuntime, createBrokerRuntime } from '../shared/usecases/broker-runtime.js';
import { beginFlowInBrowser } from '../shared/usecases/connect/begin-flow-in-browser.js';
import { CALLBACK_CONTENT_SECURITY_POLICY, errorPageHtml } from '../shared/usecases/connect/callback-pages.js';
import { completeConnectFlow } from '../shared/usecases/connect/complete-connect-flow.js';
import { drainAfterChange } from '../shared/usecases/events/drain-after-change.js';

const broker = lazy((): BrokerRuntime => createBrokerRuntime(functionConfig('callback')));

function errorPage(res: Response, code: ErrorCode): void {
  res.status(errorCodeTable[code].status).type('html').send(errorPageHtml(code));
}

functions.http(
  'callback',
  httpFunction({ functionName: 'callback', methods: ['GET'], maxBodyBytes: 0, logger: () => broker().logger }, async (req, res, { logger }) => {
    res.setHeader('content-security-policy', CALLBACK_CONTENT_SECURITY_POLICY);
    const params = queryParameters(req.url);
    const cookieHeader = typeof req.headers.cookie === 'string' ? req.headers.cookie : undefined;
    try {
      if (req.path === '/start') {
        const start = await beginFlowInBrowser(broker(), { startToken: params.get('flow') ?? undefined, cookieHeader });
        res.setHeader('set-cookie', start.setCookie);
        res.redirect(302, start.location);
        return;
      }
      if (req.path !== '/') {
        errorPage(res, 'not_found');
        return;
      }
      const result = await completeConnectFlow(broker(), { params, cookieHeader }, logger);
      // A finished flow created or reconnected a connection: publish its event before the browser moves on.
      if (result.kind === 'redirect') await drainAfterChange(broker(), { logger });
      if (result.setCookie !== undefined) res.setHeader('set-cookie', result.setCookie);
      if (result.kind === 'redirect') res.redirect(303, result.location);
      else errorPage(res, result.code);
    } catch (error) {
      // A browser gets a page, never a problem document or a stack trace; the log keeps the details.
      const code = isBrokerError(error) ? error.code : 'internal';
      if (isBrokerError(error) && error.status < 500) logger.info('callback.rejected', error.message, { errorCode: code });
      else logger.error('callback.failed', 'callback failed', { errorCode: code, error });
      errorPage(res, code);
    }
  }),
);
