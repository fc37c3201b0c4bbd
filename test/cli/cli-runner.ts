// Runs the operator CLI in-process, as a terminal would: argv and environment in, stdout, stderr and exit code out.
import type { GoogleAuth } from 'google-auth-library';
import { runCli } from '../../cli/run-cli.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  readonly env?: Record<string, string | undefined>;
  readonly stdinIsTTY?: boolean;
  readonly stderrIsTTY?: boolean;
  /** The operator's answer to a confirmation prompt; the prompts asked are collected in `prompts`. */
  readonly answer?: boolean;
  readonly prompts?: string[];
  readonly signal?: AbortSignal;
  /** Sees every stderr write as it happens (e.g. to interrupt after some progress). */
  readonly onStderr?: (text: string) => void;
  readonly fetch?: typeof fetch;
  readonly googleAuth?: () => Promise<Pick<GoogleAuth, 'getIdTokenClient' | 'getClient'>>;
  readonly iamCredentialsEndpoint?: string;
}

export async function runCliInProcess(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli({
    argv,
    env: options.env ?? {},
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.iamCredentialsEndpoint === undefined ? {} : { iamCredentialsEndpoint: options.iamCredentialsEndpoint }),
    // Nothing here may reach real credentials: a run without --id-token and without an injected source fails loudly.
    googleAuth:
      options.googleAuth ??
      (() => Promise.reject(new Error('this test gave the CLI no Application Default Credentials'))),
    terminal: {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
        options.onStderr?.(text);
      },
      stdinIsTTY: options.stdinIsTTY ?? false,
      stderrIsTTY: options.stderrIsTTY ?? false,
      confirm: (question) => {
        options.prompts?.push(question);
        return Promise.resolve(options.answer ?? false);
      },
      sleep: (ms, signal) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          }, { once: true });
        }),
    },
  });
  return { code, stdout, stderr };
}
