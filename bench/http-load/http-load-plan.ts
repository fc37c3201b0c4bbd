// What the load generator is told and what it answers: the contract between the bench and its child process.
export interface HttpLoadPlan {
  readonly url: string;
  readonly inFlight: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Requests sent round-robin, one per worker turn. */
  readonly calls: readonly { readonly method: string; readonly headers: Readonly<Record<string, string>>; readonly body?: string }[];
}

export interface HttpLoadResult {
  readonly operations: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Answers by HTTP status; 0 counts requests that got no answer (refused, reset). */
  readonly statuses: Readonly<Record<string, number>>;
}
