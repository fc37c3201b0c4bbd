// The shape of a caller policy rule, parsed from config; enforcement lives in shared/auth/caller-policy.ts.
import { z } from 'zod';

/** What a caller can be allowed: start connects, manage connections (list, disconnect, app/API-key), read tokens. */
export const callerActions = ['connect', 'manage_connections', 'read_token'] as const;
export type CallerAction = (typeof callerActions)[number];

const wildcardOr = (item: z.ZodString) => z.union([z.literal('*'), z.array(item).min(1)]);

export const callerPolicyRuleSchema = z
  .object({
    /** The verified `email` of the caller's Google ID token (a service account). */
    serviceAccount: z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must be an email'),
    tenants: wildcardOr(z.string().min(1)),
    providers: wildcardOr(z.string().min(1)),
    actions: z.array(z.enum(callerActions)).min(1),
  })
  .strict();
export type CallerPolicyRule = z.infer<typeof callerPolicyRuleSchema>;

export const callerPolicySchema = z.array(callerPolicyRuleSchema);

