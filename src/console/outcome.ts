import type { EventSummary, ReadModel, RunRecord } from '../store/types.ts';

/**
 * What became of an event, for the events list: `pending` until the dispatcher took it, `failed` when
 * its dispatch failed and it was set aside, `unmatched` when no recipe matched, else the most pressing
 * state of the runs of its latest delivery or replay (dead before retrying before running before
 * waiting before done before skipped). Rejected webhooks are never stored: they are only counted in
 * metrics (see the overview).
 */
export const outcomes = ['pending', 'failed', 'unmatched', 'running', 'waiting', 'retrying', 'done', 'dead', 'skipped'] as const;
export type Outcome = (typeof outcomes)[number];

export const outcomeHelp: Record<Outcome, string> = {
  pending: 'stored, not yet dispatched to recipes',
  failed: 'its dispatch failed: set aside with the error, the next events went on; replay it after a fix',
  unmatched: 'no recipe matched',
  running: 'a run is queued or running',
  waiting: 'a run waits (wait_for)',
  retrying: 'a step failed and will be retried',
  done: 'every run finished',
  dead: 'a run is in dead letters',
  skipped: 'every run was skipped',
};

export function eventOutcome(event: Pick<EventSummary, 'status' | 'generation'>, runs: readonly Pick<RunRecord, 'status' | 'generation'>[]): Outcome {
  if (event.status === 'received') return 'pending';
  if (event.status === 'failed') return 'failed';
  const current = runs.filter((r) => r.generation === event.generation);
  if (current.length === 0) return 'unmatched';
  const has = (...statuses: string[]) => current.some((r) => statuses.includes(r.status));
  if (has('dead')) return 'dead';
  if (has('retrying')) return 'retrying';
  if (has('queued', 'running')) return 'running';
  if (has('waiting')) return 'waiting';
  if (has('done')) return 'done';
  return 'skipped';
}

export interface EventRow {
  event: EventSummary;
  outcome: Outcome;
  runs: RunRecord[];
}

export interface EventQuery {
  source?: string | undefined;
  type?: string | undefined;
  search?: string | undefined;
  outcome?: Outcome | undefined;
  before?: number | undefined;
  limit: number;
}

/** How many events one page may look at to fill itself when filtering by outcome. */
const scanLimit = 2_000;
const batch = 100;

/**
 * Newest events first with their outcome. The outcome is not a column of the store, so filtering by
 * it scans (at most `scanLimit` events per page); `next` is the `before` of the following page.
 */
export async function listEvents(store: { read: Pick<ReadModel, 'events' | 'runsOfEvents'> }, q: EventQuery): Promise<{ rows: EventRow[]; next: number | undefined }> {
  const rows: EventRow[] = [];
  let before = q.before;
  let scanned = 0;
  for (;;) {
    const want = q.outcome ? batch : q.limit - rows.length;
    const events = await store.read.events({ source: q.source, type: q.type, search: q.search, before, limit: want });
    // The runs of the whole page in one query.
    const runsOf = Map.groupBy(await store.read.runsOfEvents(events.map((e) => e.seq)), (r) => r.eventSeq);
    for (const event of events) {
      scanned++;
      before = event.seq;
      const runs = runsOf.get(event.seq) ?? [];
      const outcome = eventOutcome(event, runs);
      if (!q.outcome || outcome === q.outcome) rows.push({ event, outcome, runs });
      if (rows.length >= q.limit) return { rows, next: before };
    }
    if (events.length < want) return { rows, next: undefined };
    if (scanned >= scanLimit) return { rows, next: before };
  }
}
