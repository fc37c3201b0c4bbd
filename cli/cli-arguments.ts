// Parses the command line into one command and the options every command shares; every value is checked here,
// so a typo is a usage error (exit 2) rather than a request the admin function refuses.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { connectionIdSchema, MAX_PAGE_SIZE, rewrapJobIdSchema } from '../shared/usecases/admin/admin-schemas.js';
import { healthStatuses } from '../shared/store/connection-document.js';
import { connectionStatuses } from '../shared/store/connection-status.js';
import type { ListFilters } from './admin-client.js';
import { UsageError } from './usage-error.js';

export const commandNames = ['stats', 'list', 'inspect', 'refresh', 'health', 'revoke', 'rewrap'] as const;
export type CommandName = (typeof commandNames)[number];

export const ADMIN_URL_VARIABLE = 'OAUTH_BROKER_ADMIN_URL';
export const IMPERSONATE_VARIABLE = 'OAUTH_BROKER_IMPERSONATE_SERVICE_ACCOUNT';
export const DEFAULT_REWRAP_BATCH_SIZE = 100;

export type Command =
  | { readonly name: 'stats' }
  | { readonly name: 'list'; readonly filters: ListFilters; readonly all: boolean }
  | { readonly name: 'inspect'; readonly connectionId: string }
  | { readonly name: 'refresh'; readonly connectionId: string | null }
  | { readonly name: 'health'; readonly connectionId: string | null }
  | { readonly name: 'revoke'; readonly connectionId: string; readonly yes: boolean }
  | { readonly name: 'rewrap'; readonly resumeJobId: string | null; readonly batchSize: number };

export interface Invocation {
  readonly command: Command;
  readonly url: string;
  /** The ID-token audience; the URL unless --audience says otherwise. */
  readonly audience: string;
  readonly idToken: string | null;
  /** The service account whose ID token to send, minted for the operator's own credentials; null: not impersonating. */
  readonly impersonateServiceAccount: string | null;
  readonly json: boolean;
}

export type ParsedArguments = { readonly help: true } | ({ readonly help: false } & Invocation);

const globalOptions = {
  url: { type: 'string' },
  audience: { type: 'string' },
  'id-token': { type: 'string' },
  'impersonate-service-account': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const commandOptions = {
  tenant: { type: 'string' },
  user: { type: 'string' },
  provider: { type: 'string' },
  status: { type: 'string' },
  health: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
  'all-expiring': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  resume: { type: 'string' },
  'batch-size': { type: 'string' },
} as const;
type CommandOption = keyof typeof commandOptions;

const allowedOptions: Record<CommandName, readonly CommandOption[]> = {
  stats: [],
  list: ['tenant', 'user', 'provider', 'status', 'health', 'limit', 'cursor', 'all'],
  inspect: [],
  refresh: ['all-expiring'],
  health: ['all'],
  revoke: ['yes'],
  rewrap: ['resume', 'batch-size'],
};

// Only a service account can be impersonated; its id rules are Google's (6-30 characters).
const serviceAccountEmail = /^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])@[a-z0-9][-a-z0-9.:]*\.iam\.gserviceaccount\.com$/;

const isCommandName = (value: string): value is CommandName => (commandNames as readonly string[]).includes(value);

function checked<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${what}: ${parsed.error.issues[0]?.message ?? 'invalid value'}`);
  return parsed.data;
}

const connectionId = (value: string | undefined, command: CommandName) => {
  if (value === undefined) throw new UsageError(`${command} needs a connection id (conn_ followed by 30 hex digits)`);
  if (!connectionIdSchema.safeParse(value).success) throw new UsageError(`"${value}" is not a connection id (conn_ followed by 30 hex digits)`);
  return value;
};

const jobId = (value: string) => {
  if (!rewrapJobIdSchema.safeParse(value).success) throw new UsageError(`"${value}" is not a re-wrap job id (rewrap_ followed by a UUID)`);
  return value;
};

const wholeNumber = (min: number, max: number) => z.coerce.number().int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
const nonEmpty = z.string().min(1, 'must not be empty').max(256, 'is too long');

function buildCommand(name: CommandName, values: Record<string, string | boolean | undefined>, positionals: readonly string[]): Command {
  const expected = name === 'inspect' || name === 'revoke' || name === 'refresh' || name === 'health' ? 1 : 0;
  if (positionals.length > expected) throw new UsageError(`unexpected argument "${positionals[expected]}"`);
  const str = (option: CommandOption) => values[option] as string | undefined;
  const target = positionals[0];
  switch (name) {
    case 'stats':
      return { name };
    case 'list': {
      const filters: ListFilters = {
        ...(str('tenant') === undefined ? {} : { tenantId: checked(nonEmpty, str('tenant'), '--tenant') }),
        ...(str('user') === undefined ? {} : { userId: checked(nonEmpty, str('user'), '--user') }),
        ...(str('provider') === undefined ? {} : { provider: checked(nonEmpty, str('provider'), '--provider') }),
        ...(str('status') === undefined ? {} : { status: checked(z.enum(connectionStatuses, { error: `must be one of ${connectionStatuses.join(', ')}` }), str('status'), '--status') }),
        ...(str('health') === undefined ? {} : { health: checked(z.enum(healthStatuses, { error: `must be one of ${healthStatuses.join(', ')}` }), str('health'), '--health') }),
        ...(str('cursor') === undefined ? {} : { cursor: checked(nonEmpty, str('cursor'), '--cursor') }),
        limit: str('limit') === undefined ? (values.all ? MAX_PAGE_SIZE : 50) : checked(wholeNumber(1, MAX_PAGE_SIZE), str('limit'), '--limit'),
      };
      return { name, filters, all: values.all === true };
    }
    case 'inspect':
      return { name, connectionId: connectionId(target, name) };
    case 'refresh':
    case 'health': {
      const everything = name === 'refresh' ? values['all-expiring'] === true : values.all === true;
      const flag = name === 'refresh' ? '--all-expiring' : '--all';
      if (everything && target !== undefined) throw new UsageError(`${name} takes a connection id or ${flag}, not both`);
      if (!everything && target === undefined) throw new UsageError(`${name} needs a connection id or ${flag}`);
      return { name, connectionId: everything ? null : connectionId(target, name) };
    }
    case 'revoke':
      return { name, connectionId: connectionId(target, name), yes: values.yes === true };
    case 'rewrap':
      return {
        name,
        resumeJobId: str('resume') === undefined ? null : jobId(str('resume') ?? ''),
        batchSize: str('batch-size') === undefined ? DEFAULT_REWRAP_BATCH_SIZE : checked(wholeNumber(1, 500), str('batch-size'), '--batch-size'),
      };
  }
}

/** Reads argv (without node and the script); throws UsageError for anything it cannot make sense of. */
export function parseCliArguments(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedArguments {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: { ...globalOptions, ...commandOptions }, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split('\n')[0] ?? 'invalid arguments' : String(error));
  }
  const { values, positionals } = parsed;
  const [first, ...rest] = positionals;
  if (first === 'help' || values.help === true) return { help: true };
  if (first === undefined) throw new UsageError('a command is needed');
  if (!isCommandName(first)) throw new UsageError(`unknown command "${first}"`);
  for (const option of Object.keys(values)) {
    if (option in globalOptions) continue;
    if (!allowedOptions[first].includes(option as CommandOption)) throw new UsageError(`--${option} is not an option of ${first}`);
  }
  const command = buildCommand(first, values, rest);

  const url = (values.url as string | undefined) ?? env[ADMIN_URL_VARIABLE];
  if (url === undefined || url === '') throw new UsageError(`the admin function's URL is needed: --url URL or ${ADMIN_URL_VARIABLE}`);
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`"${url}" is not an http(s) URL`);
  const audience = (values.audience as string | undefined) ?? url.replace(/\/+$/, '');
  const idToken = (values['id-token'] as string | undefined) ?? null;
  if (idToken !== null && (idToken.trim() === '' || /\s/.test(idToken.trim().replace(/^bearer\s+/i, '')))) {
    throw new UsageError('--id-token must be a single token (e.g. "$(gcloud auth print-identity-token)")');
  }
  const impersonateFlag = values['impersonate-service-account'] as string | undefined;
  if (impersonateFlag !== undefined && idToken !== null) {
    throw new UsageError('--id-token and --impersonate-service-account both say where the token comes from: give one');
  }
  // A token given on the command line wins over the environment's standing choice to impersonate.
  const impersonate = impersonateFlag ?? (idToken === null ? env[IMPERSONATE_VARIABLE] || undefined : undefined);
  if (impersonate !== undefined && !serviceAccountEmail.test(impersonate)) {
    throw new UsageError(`"${impersonate}" is not a service account email (…@PROJECT.iam.gserviceaccount.com)`);
  }
  return { help: false, command, url, audience, idToken, impersonateServiceAccount: impersonate ?? null, json: values.json === true };
}
