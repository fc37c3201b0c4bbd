// What a command runs with: the admin client, the terminal it talks to, and whether to answer in JSON.
import type { AdminClient } from './admin-client.js';

export interface Terminal {
  readonly stdout: (text: string) => void;
  /** Progress, prompts and errors: never mixed into --json output. */
  readonly stderr: (text: string) => void;
  readonly stderrIsTTY: boolean;
  readonly stdinIsTTY: boolean;
  /** Asks a yes/no question on the terminal (only when stdin is one); true for yes. */
  readonly confirm: (question: string) => Promise<boolean>;
  /** Sleeps, or rejects when `signal` aborts. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface CommandContext {
  readonly client: AdminClient;
  readonly terminal: Terminal;
  readonly json: boolean;
  /** Fires on Ctrl-C: commands stop at the next safe point. */
  readonly signal: AbortSignal;
}

export function writeJson(context: CommandContext, value: unknown): void {
  context.terminal.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/** ISO time to the second: what an operator reads in a table. */
export function shortTime(iso: string | null): string | null {
  return iso === null ? null : iso.replace(/\.\d+Z$/, 'Z');
}
