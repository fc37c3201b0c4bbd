// The CLI as a function: argv, environment, terminal and network in, exit code out — so tests run it in-process.
import type { GoogleAuth } from 'google-auth-library';
import { BrokerClientError } from '../client/broker-client-error.js';
import { createAdminClient } from './admin-client.js';
import { type Command, type Invocation, parseCliArguments } from './cli-arguments.js';
import type { CommandContext, Terminal } from './command-context.js';
import { healthCommand } from './commands/health-command.js';
import { inspectCommand } from './commands/inspect-command.js';
import { listCommand } from './commands/list-command.js';
import { refreshCommand } from './commands/refresh-command.js';
import { revokeCommand } from './commands/revoke-command.js';
import { EXIT_INTERRUPTED, rewrapCommand } from './commands/rewrap-command.js';
import { statsCommand } from './commands/stats-command.js';
import { explicitIdToken, googleIdToken, type IdTokenSource, impersonatedIdToken } from './id-token-source.js';
import { USAGE } from './usage-text.js';
import { UsageError } from './usage-error.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface CliEnvironment {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly terminal: Terminal;
  /** Aborts on Ctrl-C. */
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  /** Application Default Credentials, when no --id-token is given; `new GoogleAuth()` by default. */
  readonly googleAuth?: () => Promise<Pick<GoogleAuth, 'getIdTokenClient' | 'getClient'>>;
  /** Where IAM Credentials answers for --impersonate-service-account; Google's unless a stand-in does. */
  readonly iamCredentialsEndpoint?: string;
}

/** The token the invocation asked for: given, minted as an impersonated service account, or from ADC. */
function idTokenSource(environment: CliEnvironment, invocation: Invocation): IdTokenSource {
  if (invocation.idToken !== null) return explicitIdToken(invocation.idToken);
  const auth = environment.googleAuth === undefined ? {} : { auth: environment.googleAuth };
  if (invocation.impersonateServiceAccount !== null) {
    return impersonatedIdToken({
      audience: invocation.audience,
      url: invocation.url,
      serviceAccount: invocation.impersonateServiceAccount,
      ...auth,
      ...(environment.iamCredentialsEndpoint === undefined ? {} : { endpoint: environment.iamCredentialsEndpoint }),
    });
  }
  return googleIdToken({ audience: invocation.audience, url: invocation.url, ...auth });
}

function runCommand(context: CommandContext, command: Command): Promise<number> {
  switch (command.name) {
    case 'stats':
      return statsCommand(context);
    case 'list':
      return listCommand(context, command);
    case 'inspect':
      return inspectCommand(context, command);
    case 'refresh':
      return refreshCommand(context, command);
    case 'health':
      return healthCommand(context, command);
    case 'revoke':
      return revokeCommand(context, command);
    case 'rewrap':
      return rewrapCommand(context, command);
  }
}

/** What an operator can do about a refusal, beyond the function's own words. */
const hints: Readonly<Record<string, string>> = {
  unauthenticated:
    'The function did not accept the ID token: check --url and --audience (the audience must be one of its ID_TOKEN_AUDIENCES), or pass a fresh --id-token.',
  caller_not_allowed:
    "The identity is not on the admin function's ADMIN_ALLOWLIST (Terraform puts the operator service account there: --impersonate-service-account).",
};

export async function runCli(environment: CliEnvironment): Promise<number> {
  const { terminal } = environment;
  const signal = environment.signal ?? new AbortController().signal;
  const usageError = (message: string) => {
    terminal.stderr(`oauth-broker: ${message}\nRun oauth-broker --help for usage.\n`);
    return EXIT_USAGE;
  };
  let invocation;
  try {
    invocation = parseCliArguments(environment.argv, environment.env);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    throw error;
  }
  if (invocation.help) {
    terminal.stdout(USAGE);
    return EXIT_OK;
  }
  const client = createAdminClient({ baseUrl: invocation.url, idToken: idTokenSource(environment, invocation), ...(environment.fetch === undefined ? {} : { fetch: environment.fetch }) });
  try {
    return await runCommand({ client, terminal, json: invocation.json, signal }, invocation.command);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    if (signal.aborted) {
      terminal.stderr('Interrupted.\n');
      return EXIT_INTERRUPTED;
    }
    if (error instanceof BrokerClientError) {
      const status = error.status === undefined ? '' : ` (HTTP ${error.status})`;
      const details = Object.keys(error.details).length === 0 ? '' : `\n  details: ${JSON.stringify(error.details)}`;
      const hint = hints[error.code] ? `\n  ${hints[error.code]}` : '';
      terminal.stderr(`oauth-broker: ${error.code}${status}: ${error.message}${details}${hint}\n`);
      return EXIT_FAILURE;
    }
    terminal.stderr(`oauth-broker: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILURE;
  }
}
