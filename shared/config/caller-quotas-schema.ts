// The shape of CALLER_QUOTAS, parsed from config; the buckets that enforce it live in shared/quotas/request-quotas.ts.
import { z } from 'zod';

/** The functions a caller's requests are counted on: what product backends and internal services call. */
export const quotaFunctions = ['authorize', 'token', 'connections'] as const;
export type QuotaFunction = (typeof quotaFunctions)[number];

export const quotaRateSchema = z
  .object({
    /** Requests allowed per window, and the burst a bucket that has been quiet for a window allows at once. */
    requests: z.number().int().min(1).max(1_000_000),
    /** The window: the bucket refills `requests` over this many seconds, evenly. */
    perSeconds: z.number().int().min(1).max(86_400),
  })
  .strict();
export type QuotaRate = z.infer<typeof quotaRateSchema>;

const functionQuotasSchema = z
  .object({
    /** Each caller (service account) on its own. */
    perCaller: quotaRateSchema.optional(),
    /** All callers acting for one tenant together. */
    perTenant: quotaRateSchema.optional(),
  })
  .strict();

/** One rate per function, replacing the default rate for one caller or one tenant. */
const ratePerFunctionSchema = z
  .object({ authorize: quotaRateSchema.optional(), token: quotaRateSchema.optional(), connections: quotaRateSchema.optional() })
  .strict();

const serviceAccountEmail = z
  .string()
  .regex(/^[^@\s]+@[^@\s]+$/, 'must be an email')
  // Google issues service-account emails in lower case; the caller policy compares them so too.
  .transform((email) => email.toLowerCase());

export const callerQuotasSchema = z
  .object({
    authorize: functionQuotasSchema.optional(),
    token: functionQuotasSchema.optional(),
    connections: functionQuotasSchema.optional(),
    /** Per caller: "unlimited" (the off-switch: none of its requests is counted, for itself or its tenants), or its own rates. */
    callers: z.record(serviceAccountEmail, z.union([z.literal('unlimited'), ratePerFunctionSchema])).default({}),
    /** Per tenant: its own rates, in place of the functions' perTenant. */
    tenants: z.record(z.string().min(1).max(256), ratePerFunctionSchema).default({}),
  })
  .strict();
export type CallerQuotas = z.infer<typeof callerQuotasSchema>;

/** No quota anywhere: what an unset CALLER_QUOTAS means. */
export const noCallerQuotas: CallerQuotas = { callers: {}, tenants: {} };
