// The allowlist of fields a log line may carry. A field that is not named here never reaches a log.
export const loggableFields = [
  'tenantId',
  'userId',
  'provider',
  'providerAccountId',
  'connectionId',
  'flowId',
  'callerEmail',
  'operatorEmail',
  'requestId',
  'status',
  'fromStatus',
  'toStatus',
  'outcome',
  'reason',
  'errorCode',
  'httpStatus',
  'method',
  'url',
  'durationMs',
  'latencyMs',
  'attempt',
  'retryAfterSeconds',
  'count',
  'refreshed',
  'skipped',
  'failed',
  'remaining',
  'published',
  'unconfirmed',
  'oldestWaitingMs',
  'eventIds',
  'keyName',
  'keyVersion',
  'leaseVersion',
  'scopes',
  'component',
  'port',
] as const;

export type LoggableField = (typeof loggableFields)[number];

export type LogValue = string | number | boolean | null | readonly string[];

/** Typed so that `log.info('x', 'y', { accessToken })` does not compile; checked again at run time. */
export type LogFields = Partial<Record<LoggableField, LogValue>> & { readonly error?: unknown };
