#!/usr/bin/env node
// The `oauth-broker` executable: wires the process (argv, environment, terminal, Ctrl-C) to runCli.
import { realpathSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { runCli } from './run-cli.js';

/** y or yes (any case) is yes; anything else, end of input included, is no. */
async function confirmOnTerminal(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

export async function main(): Promise<void> {
  const interrupt = new AbortController();
  // The first Ctrl-C asks the command to stop at a safe point (a re-wrap finishes its batch); a second one quits now.
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    process.exitCode = await runCli({
      argv: process.argv.slice(2),
      env: process.env,
      signal: interrupt.signal,
      terminal: {
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        stderrIsTTY: process.stderr.isTTY === true,
        stdinIsTTY: process.stdin.isTTY === true,
        confirm: confirmOnTerminal,
        sleep: (ms, signal) => sleep(ms, undefined, signal === undefined ? {} : { signal }),
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
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
  main().catch((error: unknown) => {
    process.stderr.write(`oauth-broker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
