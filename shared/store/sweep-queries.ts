// The sweeps' Firestore queries: due connections in refresh order, active ones by oldest health check, paged and counted.
import type { Firestore, Query, QueryDocumentSnapshot } from '@google-cloud/firestore';
import { z } from 'zod';
import { collectionNames } from './collections.js';
import { parseConnectionSnapshot, type StoredConnection } from './connection-reads.js';
import { declareQuery } from './query-shape.js';

/** What a sweep needs of a connection to schedule it, and the whole document as the page read it. */
export interface SweepItem {
  readonly id: string;
  readonly provider: string;
  readonly nextRefreshAtMs: number | null;
  readonly checkedAtMs: number | null;
  /**
   * The document as read, for a claim that decides on it and writes only if it is still that version (it reads again
   * otherwise). Only on pages fetched with `wholeDocuments`; undefined when it does not pass the connection schema, so
   * the worker's own read reports it.
   */
  readonly seen: StoredConnection | undefined;
}

function wholeDocumentOf(snapshot: QueryDocumentSnapshot): StoredConnection | undefined {
  try {
    return parseConnectionSnapshot(snapshot);
  } catch {
    return undefined;
  }
}

const sweepFieldsSchema = z
  .object({
    provider: z.string().min(1),
    nextRefreshAtMs: z.number().int().nullable().optional(),
    health: z.object({ checkedAtMs: z.number().int().nullable() }).loose().optional(),
  })
  .loose();

/** Statuses whose tokens the refresh sweep keeps fresh: `error` is retried on its backoff schedule. */
export const refreshableStatuses = ['active', 'error'] as const;

function itemOf(snapshot: QueryDocumentSnapshot, wholeDocuments: boolean): SweepItem | undefined {
  const parsed = sweepFieldsSchema.safeParse(snapshot.data());
  if (!parsed.success) return undefined;
  return {
    id: snapshot.id,
    provider: parsed.data.provider,
    nextRefreshAtMs: parsed.data.nextRefreshAtMs ?? null,
    checkedAtMs: parsed.data.health?.checkedAtMs ?? null,
    seen: wholeDocuments ? wholeDocumentOf(snapshot) : undefined,
  };
}

export const connectionsDueForRefresh = declareQuery({
  name: 'connectionsDueForRefresh',
  collection: collectionNames.connections,
  filters: [
    { field: 'status', operator: 'in' },
    { field: 'nextRefreshAtMs', operator: '<=' },
  ],
  orders: [{ field: 'nextRefreshAtMs', direction: 'asc' }],
});

export const connectionsByLastHealthCheck = declareQuery({
  name: 'connectionsByLastHealthCheck',
  collection: collectionNames.connections,
  filters: [
    { field: 'status', operator: '==' },
    { field: 'health.checkedAtMs', operator: '<=', optional: true },
  ],
  orders: [{ field: 'health.checkedAtMs', direction: 'asc' }],
});

/** Connections due by `dueByMs`, earliest first. */
export function dueConnectionsQuery(firestore: Firestore, dueByMs: number): Query {
  return connectionsDueForRefresh.build(firestore, { status: [...refreshableStatuses], nextRefreshAtMs: dueByMs });
}

/**
 * Active connections, never-checked first, then by oldest check; with `checkedBeforeMs`, only those checked by then
 * (the same order, so a cursor from one pages the other).
 */
export function healthCheckQuery(firestore: Firestore, checkedBeforeMs?: number): Query {
  return connectionsByLastHealthCheck.build(firestore, { status: 'active', 'health.checkedAtMs': checkedBeforeMs });
}

export interface PagedQueryResult {
  /** Matches the sweep pool's page: the items, and where the next page starts (undefined after the last). */
  readonly page: { readonly items: readonly SweepItem[]; readonly next: unknown };
  /** Documents the sweep could not read its fields from: logged by the caller, never acted on. */
  readonly unreadableIds: readonly string[];
}

/**
 * One page of `query` after `cursor` (a snapshot from the previous page): the fields a sweep schedules by or, with
 * `wholeDocuments`, whole documents parsed as `seen` (the refresh sweep claims on the copy it read, which spares each
 * refresh a read; about 3 KB a document, 200 a page by default).
 */
export async function fetchSweepPage(query: Query, cursor: unknown, pageSize: number, { wholeDocuments = false } = {}): Promise<PagedQueryResult> {
  let paged = (wholeDocuments ? query : query.select('provider', 'nextRefreshAtMs', 'health.checkedAtMs')).limit(pageSize);
  if (cursor !== undefined) paged = paged.startAfter(cursor as QueryDocumentSnapshot);
  const snapshot = await paged.get();
  const items: SweepItem[] = [];
  const unreadableIds: string[] = [];
  for (const document of snapshot.docs) {
    const item = itemOf(document, wholeDocuments);
    if (item === undefined) unreadableIds.push(document.id);
    else items.push(item);
  }
  const last = snapshot.docs.at(-1);
  return { page: { items, next: snapshot.size < pageSize || last === undefined ? undefined : last }, unreadableIds };
}

/** How many documents `query` still holds after `cursor`: what a sweep stopped by its budget left for the next run. */
export async function countAfter(query: Query, cursor: unknown): Promise<number> {
  const remaining = cursor === undefined ? query : query.startAfter(cursor as QueryDocumentSnapshot);
  const snapshot = await remaining.count().get();
  return snapshot.data().count;
}
