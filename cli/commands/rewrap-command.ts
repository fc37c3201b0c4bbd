// `oauth-broker rewrap [--resume JOB_ID]`: drives a re-wrap job one batch per request, so progress shows
// between batches and Ctrl-C stops at a batch boundary. The job (cursor and counts) lives in the broker's
// Firestore, so a stopped run — or a killed one — resumes where the last saved batch ended.
import { BrokerClientError } from '../../client/broker-client-error.js';
import type { RewrapJob, RewrapStep } from '../admin-client.js';
import { type CommandContext, writeJson } from '../command-context.js';
import { createProgressBar } from '../progress-bar.js';
import { renderFields } from '../text-table.js';

/** Waits for a busy job (another run's lease) or an unavailable KMS or Firestore before giving up. */
const MAX_WAIT_PER_STEP_MS = 120_000;
const MAX_BACKOFF_MS = 15_000;
export const EXIT_INTERRUPTED = 130;

export interface RewrapCommand {
  readonly resumeJobId: string | null;
  readonly batchSize: number;
}

function progressNote(job: RewrapJob): string {
  const { rewrapped, alreadyCurrent, noCredentials, changedMeanwhile, failed } = job.counts;
  return `re-wrapped ${rewrapped}, already current ${alreadyCurrent + changedMeanwhile}, no credentials ${noCredentials}, failed ${failed}`;
}

/** One batch; retryable refusals (the job's lease still held by a stopped run, KMS or Firestore briefly down) are waited out. */
async function step(context: CommandContext, request: RewrapStep): Promise<RewrapJob> {
  const startedAt = Date.now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      // Deliberately not cancelled by Ctrl-C: the function finishes and saves the batch either way, and
      // waiting for its answer lets this run report where the job stands.
      return await context.client.rewrapStep(request);
    } catch (error) {
      if (!(error instanceof BrokerClientError) || !error.retryable) throw error;
      const backoffMs = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempt - 1));
      const waitMs = error.retryAfterSeconds === undefined ? backoffMs : Math.min(error.retryAfterSeconds * 1000, MAX_WAIT_PER_STEP_MS);
      if (Date.now() - startedAt + waitMs > MAX_WAIT_PER_STEP_MS) throw error;
      context.terminal.stderr(`${error.code}: ${error.message}; retrying in ${Math.ceil(waitMs / 1000)} s\n`);
      await context.terminal.sleep(waitMs, context.signal);
    }
  }
}

function printSummary(context: CommandContext, job: RewrapJob): void {
  const { counts } = job;
  context.terminal.stdout(
    `Re-wrap job ${job.jobId} ${job.status === 'completed' ? 'completed' : 'stopped'}.\n` +
      renderFields([
        ['  scanned', `${counts.scanned} of ${job.total} connections`],
        ['  re-wrapped', counts.rewrapped],
        ['  already current', counts.alreadyCurrent],
        ['  re-sealed meanwhile', counts.changedMeanwhile],
        ['  no credentials', counts.noCredentials],
        ['  failed', counts.failed],
        ['  key versions', job.keyVersions.join(', ') || null],
        ['  started', `${job.startedAt} by ${job.startedBy}`],
        ['  completed', job.completedAt],
      ]),
  );
}

export async function rewrapCommand(context: CommandContext, command: RewrapCommand): Promise<number> {
  const { terminal, signal } = context;
  const bar = createProgressBar({ write: terminal.stderr, interactive: terminal.stderrIsTTY });
  const show = (job: RewrapJob) => bar.update(job.counts.scanned, Math.max(job.total, job.counts.scanned), progressNote(job));
  const onInterrupt = () => {
    bar.finish();
    terminal.stderr('Stopping after the current batch; its progress is saved...\n');
  };
  signal.addEventListener('abort', onInterrupt, { once: true });
  let job: RewrapJob | undefined;
  try {
    if (command.resumeJobId !== null) {
      job = await context.client.rewrapJob(command.resumeJobId, { signal });
      terminal.stderr(`Resuming re-wrap job ${job.jobId}, started ${job.startedAt} by ${job.startedBy}\n`);
      show(job);
    }
    while (job?.status !== 'completed') {
      if (signal.aborted) break;
      const next = await step(context, { ...(job === undefined ? {} : { jobId: job.jobId }), batchSize: command.batchSize, maxBatches: 1 });
      if (job === undefined) {
        // Without --resume the function picks up an unfinished job rather than start a second one.
        terminal.stderr(next.counts.scanned > command.batchSize ? `Resuming the unfinished re-wrap job ${next.jobId}\n` : `Re-wrap job ${next.jobId}\n`);
      }
      job = next;
      show(job);
    }
  } catch (error) {
    bar.finish();
    if (job !== undefined && job.status !== 'completed') terminal.stderr(`The job is saved; resume it with: oauth-broker rewrap --resume ${job.jobId}\n`);
    throw error;
  } finally {
    signal.removeEventListener('abort', onInterrupt);
  }
  bar.finish();
  if (job === undefined) {
    terminal.stderr('Interrupted before a re-wrap job started.\n');
    return EXIT_INTERRUPTED;
  }
  if (context.json) writeJson(context, job);
  else printSummary(context, job);
  if (job.status !== 'completed') {
    terminal.stderr(`Interrupted: ${job.counts.scanned} of ${job.total} connections done. Resume with: oauth-broker rewrap --resume ${job.jobId}\n`);
    return EXIT_INTERRUPTED;
  }
  if (job.counts.failed > 0) {
    const listed = job.failures.map((failure) => `  ${failure.connectionId}: ${failure.errorCode}`).join('\n');
    terminal.stderr(
      `oauth-broker: ${job.counts.failed} data keys could not be re-wrapped; they stay under their old key version, which must not be disabled yet:\n${listed}\n`,
    );
    return 1;
  }
  return 0;
}
