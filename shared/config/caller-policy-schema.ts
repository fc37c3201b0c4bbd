// The shape of a caller policy rule, parsed from config; enforcement lives in shared/auth/caller-policy.ts.
import { z } from 'zod';

/**
 * What a caller can be allowed: start connects, manage connections (list, disconnect, app/API-key), read tokens, and
 * call provider APIs through the proxy (only what the rule's `api` entries name).
 */
export const callerActions = ['connect', 'manage_connections', 'read_token', 'call_api'] as const;
export type CallerAction = (typeof callerActions)[number];

/** The methods an API rule may name; `*` in a rule stands for all of them. */
export const apiMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type ApiMethod = (typeof apiMethods)[number];

// A literal segment is compared with the path as the caller sent it (percent-encodings included); `*` is one
// non-empty segment, `**` (last only) whatever follows, nothing included.
const literalSegment = /^[A-Za-z0-9\-._~!$&'()+,;=:%]+$/;

/**
 * One API rule, `METHODS /path/pattern`: `GET /gmail/v1/users/me/messages/**`, `GET,POST /v1.0/me/*`, `* /v2/users/me`.
 * Parsed once at start-up into its methods and segments.
 */
export const apiRuleSchema = z.string().max(512).transform((value, context) => {
  const match = /^(\*|[A-Z]+(?:,[A-Z]+)*) (\/\S*)$/.exec(value);
  const fail = (message: string) => {
    context.addIssue({ code: 'custom', message: `${JSON.stringify(value)}: ${message}` });
    return z.NEVER;
  };
  if (match === null) return fail('must be "METHODS /path", e.g. "GET /v1/users/*"');
  const [, methodList = '', pattern = ''] = match;
  const methods = methodList === '*' ? [...apiMethods] : methodList.split(',');
  const unknown = methods.filter((method) => !(apiMethods as readonly string[]).includes(method));
  if (unknown.length > 0) return fail(`unknown method ${unknown.join(', ')}`);
  const segments = pattern === '/' ? [] : pattern.slice(1).split('/');
  for (const [index, segment] of segments.entries()) {
    if (segment === '**' && index !== segments.length - 1) return fail('** must be the last segment');
    if (segment !== '*' && segment !== '**' && !(literalSegment.test(segment) && segment !== '.' && segment !== '..')) {
      return fail(`segment ${JSON.stringify(segment)} is not a plain path segment, * or **`);
    }
  }
  return { rule: value, methods: methods as ApiMethod[], segments };
});
export type ApiRule = z.output<typeof apiRuleSchema>;

const wildcardOr = (item: z.ZodString) => z.union([z.literal('*'), z.array(item).min(1)]);

export const callerPolicyRuleSchema = z
  .object({
    /** The verified `email` of the caller's Google ID token (a service account). */
    serviceAccount: z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must be an email'),
    tenants: wildcardOr(z.string().min(1)),
    providers: wildcardOr(z.string().min(1)),
    actions: z.array(z.enum(callerActions)).min(1),
    /** With `call_api`: per provider, the API calls the proxy may make for this caller; nothing else (deny by default). */
    api: z.record(z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, 'must be a provider id'), z.array(apiRuleSchema).min(1)).optional(),
  })
  .strict()
  .superRefine((rule, context) => {
    const callsApi = rule.actions.includes('call_api');
    if (callsApi !== (rule.api !== undefined)) {
      context.addIssue({ code: 'custom', path: ['api'], message: 'the call_api action and api rules go together: name the calls the caller may make' });
    }
    const outside = Object.keys(rule.api ?? {}).filter((provider) => rule.providers !== '*' && !rule.providers.includes(provider));
    if (outside.length > 0) context.addIssue({ code: 'custom', path: ['api'], message: `api rules for providers the rule does not cover: ${outside.join(', ')}` });
  });
export type CallerPolicyRule = z.infer<typeof callerPolicyRuleSchema>;

export const callerPolicySchema = z.array(callerPolicyRuleSchema);
