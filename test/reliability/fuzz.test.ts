// Seeded property-based fuzzing of every served function over HTTP: no 5xx, no crash, every 4xx a problem with a stable code
// (the callback's pages and redirects by their own rules), no secret in any answer.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { functionNames } from '../../functions/names.js';
import { testProjectId } from '../support/firestore-test-project.js';
import { formatFuzzTable, type FuzzReport, runFuzzCampaign } from './fuzz-campaign.js';
import { type FuzzStack, startFuzzStack } from './fuzz-stack.js';

/** Small enough for `npm test` on a shared 2-core machine; `npm run bench` sends 10,000 per function. */
const REQUESTS_PER_FUNCTION = 200;
const SEED = 20_260_101;

let stack: FuzzStack;
let report: FuzzReport;

beforeAll(async () => {
  process.env.METADATA_SERVER_DETECTION = 'none';
  stack = await startFuzzStack({
    firestoreEmulatorHost: inject('firestoreEmulatorHost'),
    projectId: testProjectId('fuzz'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  report = await runFuzzCampaign(stack, { requestsPerFunction: REQUESTS_PER_FUNCTION, seed: SEED, concurrency: 6 });
  process.stderr.write(`${formatFuzzTable(report)}\n`);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

function explain(): string {
  return [...report.violationKinds].map(([kind, count]) => `${count} × ${kind}`).concat(report.violations.slice(0, 5).map((violation) => `${violation.where}: ${violation.problems.join('; ')}\n  ${violation.request}`)).join('\n');
}

describe('fuzzing every function', () => {
  it('serves every function in functions/names.ts whose module exists, and says which it skipped', () => {
    expect([...stack.functions, ...stack.skipped].sort()).toEqual([...functionNames].sort());
    expect(report.tallies.map((tally) => tally.functionName)).toEqual(stack.functions);
  });

  it(`sends ${REQUESTS_PER_FUNCTION} generated requests to each, and every one is answered`, () => {
    for (const tally of report.tallies) {
      expect(tally.requests, tally.functionName).toBe(REQUESTS_PER_FUNCTION);
      expect(tally.byClass['no answer'], tally.functionName).toBe(0);
    }
  });

  it('answers no request with a 5xx, and nothing crashes', () => {
    for (const tally of report.tallies) expect(tally.byClass['5xx'], `${tally.functionName}\n${explain()}`).toBe(0);
    expect(report.crashes).toEqual([]);
  });

  it('breaks no rule: problem+json with a known code, callback pages and redirects as allowed, no secret echoed', () => {
    expect(report.violationCount, explain()).toBe(0);
  });

  it('gets past authentication into validation and the use cases, not just the 401 gate', () => {
    for (const tally of report.tallies) {
      const past401 = [...tally.byStatus].filter(([status]) => status !== 401).reduce((sum, [, count]) => sum + count, 0);
      expect(past401, tally.functionName).toBeGreaterThan(REQUESTS_PER_FUNCTION / 2);
    }
    // Real answers, too: a token read of a seeded connection, a finished connect flow, a sweep that ran.
    const byName = new Map(report.tallies.map((tally) => [tally.functionName, tally]));
    if (byName.has('token')) expect(byName.get('token')?.byStatus.get(200) ?? 0).toBeGreaterThan(0);
    if (byName.has('callback')) {
      expect(byName.get('callback')?.liveFlows ?? 0).toBeGreaterThan(0);
      expect(byName.get('callback')?.byStatus.get(303) ?? 0).toBeGreaterThan(0);
    }
    if (byName.has('refresh')) expect(byName.get('refresh')?.byStatus.get(200) ?? 0).toBeGreaterThan(0);
  });
});
