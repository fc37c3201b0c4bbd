// The admin API's shapes: every path parameter, query, body and response, defined once; the router validates
// with them and the OpenAPI document is generated from them. No shape here has room for a secret.
import { z } from 'zod';
import { connectionKinds, healthStatuses } from '../../store/connection-document.js';
import { connectionStatuses } from '../../store/connection-status.js';
import { auditActions, auditActorTypes } from '../../store/audit-log.js';
import {
  connectionsByStatusSchema,
  healthRunCountsSchema,
  refreshRunCountsSchema,
  STATS_SNAPSHOT_RETENTION_DAYS,
  sweepRunOutcomes,
} from '../../store/stats-snapshots.js';
import { rewrapCountsSchema, rewrapJobStatuses } from '../../store/rewrap-jobs.js';
import { healthOutcomes } from '../sweeps/check-connection-health.js';

export const connectionIdSchema = z.string().regex(/^conn_[0-9a-f]{30}$/).meta({ description: 'A connection id (conn_ + 30 hex digits)' });
export const rewrapJobIdSchema = z.string().regex(/^rewrap_[0-9a-f-]{36}$/).meta({ description: 'A re-wrap job id' });

export const connectionPathSchema = z.object({ connectionId: connectionIdSchema }).strict();
export const rewrapJobPathSchema = z.object({ jobId: rewrapJobIdSchema }).strict();
export const noParametersSchema = z.object({}).strict();
/** Actions take no input beyond the path; an empty JSON object (or no body) is accepted, nothing else. */
export const emptyBodySchema = z.object({}).strict();

export const MAX_PAGE_SIZE = 200;

export const listConnectionsQuerySchema = z
  .object({
    tenantId: z.string().min(1).max(256).optional(),
    userId: z.string().min(1).max(256).optional(),
    provider: z.string().min(1).max(64).optional(),
    status: z.enum(connectionStatuses).optional(),
    health: z.enum(healthStatuses).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
    cursor: z.string().min(1).max(512).optional().meta({ description: 'The nextCursor of the previous page, as is' }),
  })
  .strict();
export type ListConnectionsQuery = z.infer<typeof listConnectionsQuerySchema>;

const isoTime = z.iso.datetime();

export const adminConnectionSchema = z
  .object({
    connectionId: connectionIdSchema,
    tenantId: z.string(),
    userId: z.string().nullable(),
    provider: z.string(),
    kind: z.enum(connectionKinds),
    accountId: z.string(),
    displayName: z.string().nullable(),
    scopes: z.array(z.string()),
    status: z.enum(connectionStatuses),
    statusReason: z.string().nullable(),
    health: z
      .object({
        status: z.enum(healthStatuses),
        checkedAt: isoTime.nullable(),
        latencyMs: z.number().nullable(),
        errorCode: z.string().nullable(),
      })
      .strict(),
    refresh: z
      .object({
        lastRefreshAt: isoTime.nullable(),
        nextRefreshAt: isoTime.nullable(),
        consecutiveFailures: z.number().int(),
        lastErrorCode: z.string().nullable(),
      })
      .strict(),
    /** Which KMS key version wraps the data key: what a re-wrap moves. Null once credentials are destroyed. */
    sealedWithKeyVersion: z.string().nullable(),
    hasCredentials: z.boolean(),
    metadata: z.record(z.string(), z.string()),
    expiresAt: isoTime.nullable(),
    createdAt: isoTime,
    updatedAt: isoTime,
    revokedAt: isoTime.nullable(),
  })
  .strict();
export type AdminConnection = z.infer<typeof adminConnectionSchema>;

export const connectionListSchema = z
  .object({ connections: z.array(adminConnectionSchema), nextCursor: z.string().nullable() })
  .strict();

export const auditRecordSchema = z
  .object({
    action: z.enum(auditActions),
    actor: z.object({ type: z.enum(auditActorTypes), id: z.string().nullable() }).strict(),
    outcome: z.enum(['success', 'failure', 'denied']),
    reason: z.string().nullable(),
    at: isoTime,
  })
  .strict();

export const connectionDetailSchema = z
  .object({ connection: adminConnectionSchema, audit: z.array(auditRecordSchema) })
  .strict();

const countSchema = z.number().int().nonnegative();

export const statsSchema = z
  .object({
    total: countSchema,
    byStatus: z.record(z.enum(connectionStatuses), countSchema),
    byProvider: z.array(
      z.object({ provider: z.string(), total: countSchema, byStatus: z.record(z.enum(connectionStatuses), countSchema) }).strict(),
    ),
    /** Connections of providers this broker no longer lists (not in any byProvider row). */
    unlistedProviders: countSchema,
    /** Health of the connections that are not revoked. */
    health: z.record(z.enum(healthStatuses), countSchema),
    generatedAt: isoTime,
  })
  .strict();
export type Stats = z.infer<typeof statsSchema>;

/** 30 days: what the snapshots' TTL keeps. */
export const MAX_HISTORY_HOURS = STATS_SNAPSHOT_RETENTION_DAYS * 24;

export const statsHistoryQuerySchema = z
  .object({
    hours: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_HISTORY_HOURS)
      .default(48)
      .meta({ description: `How far back, in hours (1-${MAX_HISTORY_HOURS}, default 48)` }),
  })
  .strict();
export type StatsHistoryQuery = z.infer<typeof statsHistoryQuerySchema>;

const snapshotFields = {
  /** When the run ended; its counts by status are from then. */
  at: isoTime,
  durationMs: countSchema,
  outcome: z.enum(sweepRunOutcomes),
  byStatus: connectionsByStatusSchema,
};

export const statsHistorySchema = z
  .object({
    hours: z.number().int(),
    from: isoTime,
    to: isoTime,
    /** One entry per sweep run, oldest first. */
    snapshots: z.array(
      z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('refresh'), ...snapshotFields, run: refreshRunCountsSchema }).strict(),
        z.object({ kind: z.literal('health'), ...snapshotFields, run: healthRunCountsSchema }).strict(),
      ]),
    ),
    /** More runs fell in the window than one answer holds: the oldest were left out. */
    truncated: z.boolean(),
    /** Stored snapshots that did not parse and were left out. */
    unreadable: countSchema,
  })
  .strict();
export type StatsHistory = z.infer<typeof statsHistorySchema>;

export const revokeResultSchema = z
  .object({
    connectionId: connectionIdSchema,
    status: z.literal('revoked'),
    credentialsDestroyed: z.literal(true),
    providerRevocation: z
      .object({ outcome: z.enum(['revoked', 'already_revoked', 'not_supported', 'failed', 'retry_scheduled']), reason: z.string().optional() })
      .strict(),
    connection: adminConnectionSchema,
  })
  .strict();

export const refreshResultSchema = z
  .object({
    connectionId: connectionIdSchema,
    outcome: z.enum(['refreshed', 'skipped', 'failed']),
    /** Why it was skipped (not_refreshable, cooldown, lease_held...) or the failure's code; null when refreshed. */
    reason: z.string().nullable(),
    connection: adminConnectionSchema,
  })
  .strict();

export const healthCheckResultSchema = z
  .object({
    connectionId: connectionIdSchema,
    outcome: z.enum(healthOutcomes),
    /** The error code of an unhealthy check, or why the check was skipped. */
    reason: z.string().nullable(),
    latencyMs: z.number().nullable(),
    /** Whether the check refreshed the grant after the provider rejected the stored token. */
    refreshed: z.boolean(),
    connection: adminConnectionSchema,
  })
  .strict();

/** What a sweep reports; its fields are the sweep's own, so they are passed through as counts. */
export const sweepResultSchema = z
  .object({
    ranIn: z.enum(['admin_function', 'cloud_scheduler']),
    /** The sweep's own summary counts (in-process runs). */
    summary: z.record(z.string(), z.union([z.number(), z.boolean(), z.string(), z.null()])).nullable(),
    /** The Scheduler job that was started (runs there). */
    schedulerJob: z.string().nullable(),
  })
  .strict();

export const rewrapRequestSchema = z
  .object({
    /** Resume this job; absent: resume the unfinished job if there is one, else start a new one. */
    jobId: rewrapJobIdSchema.optional(),
    /** Connections per batch; progress is saved after each batch. */
    batchSize: z.number().int().min(1).max(500).default(100),
    /** Stop after this many batches (e.g. 1 to report progress between calls); absent: until done or out of time. */
    maxBatches: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();
export type RewrapRequest = z.infer<typeof rewrapRequestSchema>;

export const rewrapJobSchema = z
  .object({
    jobId: rewrapJobIdSchema,
    status: z.enum(rewrapJobStatuses),
    /** Connections that existed when the job started: the denominator of its progress. */
    total: countSchema,
    counts: rewrapCountsSchema,
    failures: z.array(z.object({ connectionId: connectionIdSchema, errorCode: z.string() }).strict()),
    /** Key versions the re-wrapped keys moved to. */
    keyVersions: z.array(z.string()),
    startedBy: z.string(),
    startedAt: isoTime,
    updatedAt: isoTime,
    completedAt: isoTime.nullable(),
  })
  .strict();
export type RewrapJob = z.infer<typeof rewrapJobSchema>;
