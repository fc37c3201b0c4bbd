// `npm run -s local:id-token -- --email SA --audience URL`: prints an ID token from the local issuer, for curl.
import { realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createIdTokenSigner, DEFAULT_ID_TOKEN_LIFETIME_SECONDS, localIssuerDataDir } from './id-token-issuer.js';

export const ID_TOKEN_CLI_USAGE = `Usage: npm run -s local:id-token -- --email SERVICE_ACCOUNT_EMAIL --audience AUDIENCE [--expires-in SECONDS]

Prints an ID token signed by the local issuer (key under .local/id-token-issuer/, shared with npm start),
for calling the local broker as that service account:
  TOKEN=$(npm run -s local:id-token -- --email reader@acme.iam.gserviceaccount.com --audience http://127.0.0.1:8080)
  curl -H "Authorization: Bearer $TOKEN" -H "X-Serverless-Authorization: Bearer $TOKEN" ...

  --email        the caller's service-account email
  --audience     the audience the broker function expects (its ID_TOKEN_AUDIENCES)
  --expires-in   token lifetime in seconds, 1..${DEFAULT_ID_TOKEN_LIFETIME_SECONDS} (default ${DEFAULT_ID_TOKEN_LIFETIME_SECONDS})
`;

export interface IdTokenCliOptions {
  readonly dataDir: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const argumentsSchema = z
  .object({
    email: z.email('--email must be an email address'),
    audience: z.string().regex(/^\S+$/, '--audience must be a non-empty value without spaces'),
    'expires-in': z.coerce
      .number()
      .int('--expires-in must be whole seconds')
      .min(1, '--expires-in must be at least 1')
      .max(DEFAULT_ID_TOKEN_LIFETIME_SECONDS, `--expires-in must be at most ${DEFAULT_ID_TOKEN_LIFETIME_SECONDS}`)
      .default(DEFAULT_ID_TOKEN_LIFETIME_SECONDS),
  })
  .strict();

/** Returns the exit code: 0 with the token on stdout, 2 with a usage error on stderr. */
export async function runIdTokenCli(argv: readonly string[], options: IdTokenCliOptions): Promise<number> {
  const usageError = (problem: string): number => {
    options.stderr(`local:id-token: ${problem}\n\n${ID_TOKEN_CLI_USAGE}`);
    return 2;
  };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        email: { type: 'string' },
        audience: { type: 'string' },
        'expires-in': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    options.stdout(ID_TOKEN_CLI_USAGE);
    return 0;
  }
  if (values.email === undefined) return usageError('--email is required');
  if (values.audience === undefined) return usageError('--audience is required');
  const parsed = argumentsSchema.safeParse(values);
  if (!parsed.success) return usageError(parsed.error.issues.map((issue) => issue.message).join('; '));

  const signer = await createIdTokenSigner({ dataDir: options.dataDir });
  const token = await signer.mint({
    email: parsed.data.email,
    audience: parsed.data.audience,
    expiresInSeconds: parsed.data['expires-in'],
  });
  options.stdout(`${token}\n`);
  return 0;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  const repoRoot = fileURLToPath(new URL('../', import.meta.url));
  runIdTokenCli(process.argv.slice(2), {
    dataDir: localIssuerDataDir(repoRoot),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`local:id-token: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
