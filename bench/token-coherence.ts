// The cache's coherence under load: connections are revoked one after another while readers hammer the ones around
// the revocation frontier through two token processes; any read that starts after a revocation committed and still
// gets a token is a stale answer, and the longest such delay is the figure that must stay within 1 s.
import { Agent, request } from 'node:http';
import type { Firestore } from '@google-cloud/firestore';
import { revokeConnection } from '../shared/store/connection-writes.js';
import { systemClock } from '../shared/time/clock.js';
import { cryptoIdSource } from '../shared/time/ids.js';

export interface CoherenceTarget {
  readonly connectionId: string;
  readonly body: string;
}

export interface CoherencePlan {
  /** The token processes' origins; readers take turns between them. */
  readonly origins: readonly string[];
  readonly idToken: string;
  /** In revocation order. */
  readonly targets: readonly CoherenceTarget[];
  readonly readers: number;
  /** Pause between two revocations, so each revoked connection is read many times around its revocation. */
  readonly revocationGapMs: number;
  /** Reads go to the connections within this many places of the frontier, on both sides. */
  readonly window: number;
}

export interface CoherenceReport {
  readonly revocations: number;
  readonly reads: number;
  /** Reads that started after their connection's revocation committed. */
  readonly readsAfterRevocation: number;
  /** Of those, the ones that still got a token. */
  readonly staleAnswers: number;
  /** The longest delay from a revocation's commit to the start of a read that still got a token (0 if none did). */
  readonly longestStaleMs: number;
  readonly staleAnswersBeyondOneSecond: number;
  /** Answers that were neither a token nor the refusal of a revoked connection. */
  readonly unexpectedStatuses: Readonly<Record<string, number>>;
}

function post(agent: Agent, origin: string, idToken: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const outgoing = request(
      `${origin}/`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${idToken}`, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', () => resolve(0));
      },
    );
    outgoing.on('error', () => resolve(0));
    outgoing.end(body);
  });
}

const GRPC_UNKNOWN = 2;

/**
 * The broker's own revocation write (the one a disconnect commits after the provider's answer). The emulator fails a
 * commit with UNKNOWN when a listener of the same project closes at that moment (a token process's listener handing
 * over); revoking is idempotent, so it is tried again once. Should the failed attempt have committed after all, reads
 * during the retry go unjudged: a window of one commit, on the rare retry.
 */
async function revokeOnce(firestore: Firestore, connectionId: string): Promise<void> {
  const revoke = () =>
    revokeConnection(
      firestore,
      { connectionId, actor: { type: 'system', id: 'token-coherence-bench' }, providerRevocation: { outcome: 'revoked' } },
      { clock: systemClock, ids: cryptoIdSource },
    );
  await revoke().catch((error: unknown) => {
    if ((error as { code?: unknown }).code !== GRPC_UNKNOWN) throw error;
    return revoke();
  });
}

export async function runRevocationCoherence(firestore: Firestore, plan: CoherencePlan): Promise<CoherenceReport> {
  const agent = new Agent({ keepAlive: true, maxSockets: plan.readers });
  const revokedAtMs = new Array<number | undefined>(plan.targets.length);
  let frontier = 0;
  let done = false;
  let reads = 0;
  let readsAfterRevocation = 0;
  let staleAnswers = 0;
  let staleBeyond = 0;
  let longestStaleMs = 0;
  const unexpectedStatuses: Record<string, number> = {};
  const reader = async (readerIndex: number) => {
    const origin = plan.origins[readerIndex % plan.origins.length] as string;
    while (!done) {
      const index = Math.min(plan.targets.length - 1, Math.max(0, frontier - plan.window + Math.floor(Math.random() * 2 * plan.window)));
      const target = plan.targets[index] as CoherenceTarget;
      const startedMs = Date.now();
      const revokedBefore = revokedAtMs[index];
      const status = await post(agent, origin, plan.idToken, target.body);
      reads += 1;
      if (status !== 200 && status !== 404) unexpectedStatuses[status] = (unexpectedStatuses[status] ?? 0) + 1;
      if (revokedBefore === undefined || startedMs < revokedBefore) continue;
      readsAfterRevocation += 1;
      if (status !== 200) continue;
      staleAnswers += 1;
      const staleMs = startedMs - revokedBefore;
      longestStaleMs = Math.max(longestStaleMs, staleMs);
      if (staleMs > 1000) staleBeyond += 1;
    }
  };
  const readers = Array.from({ length: plan.readers }, (_, index) => reader(index));
  // Let the readers fill the caches of both processes before the first revocation.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  for (const [index, target] of plan.targets.entries()) {
    await revokeOnce(firestore, target.connectionId).catch((error: unknown) => {
      throw new Error(`Revoking connection ${index} failed`, { cause: error });
    });
    // Taken once the write is committed: from here on, no process may hand out this connection's token for long.
    revokedAtMs[index] = Date.now();
    frontier = index + 1;
    await new Promise((resolve) => setTimeout(resolve, plan.revocationGapMs));
  }
  // Reads keep going past the last revocation for longer than the bound.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  done = true;
  await Promise.all(readers);
  agent.destroy();
  return { revocations: plan.targets.length, reads, readsAfterRevocation, staleAnswers, longestStaleMs, staleAnswersBeyondOneSecond: staleBeyond, unexpectedStatuses };
}
