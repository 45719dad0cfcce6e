import type Database from 'better-sqlite3';
import { eventSummaryColumns, toAttempt, toEvent, toEventSummary, toRun, toStep, type AttemptRow, type EventRow, type RunRow, type StepRow } from '../rows.ts';
import type { ReadModel, RunDetail, RunStatus } from '../types.ts';

/** Events, runs and dispatch as operators see them; tickets and tables come from their own files. */
export function sqliteReadModel(db: Database.Database): Omit<ReadModel, 'tickets' | 'ticket' | 'tableRows'> {
  const events = db.prepare(`
    SELECT ${eventSummaryColumns} FROM events
    WHERE (:source IS NULL OR source = :source) AND (:type IS NULL OR type GLOB :type)
      AND (:before IS NULL OR seq < :before)
      AND (:search IS NULL OR event_id = :search OR instr(body, :search) > 0)
    ORDER BY seq DESC LIMIT :limit`);
  const byId = db.prepare(`SELECT * FROM events WHERE event_id = ? AND (? IS NULL OR source = ?) ORDER BY seq DESC`);
  const bySeq = db.prepare(`SELECT * FROM events WHERE seq = ?`);
  const count = db.prepare(`SELECT count(*) AS n FROM events`).pluck();
  const runs = db.prepare(`
    SELECT * FROM runs WHERE (:status IS NULL OR status = :status) AND (:recipe IS NULL OR recipe = :recipe)
      AND (:before IS NULL OR id < :before)
    ORDER BY id DESC LIMIT :limit`);
  const getRun = db.prepare(`SELECT * FROM runs WHERE id = ?`);
  const byEvent = db.prepare(`SELECT * FROM runs WHERE event_seq = ? ORDER BY id`);
  const byEvents = db.prepare(`SELECT * FROM runs WHERE event_seq IN (SELECT value FROM json_each(?)) ORDER BY id`);
  const stepsOf = db.prepare(`SELECT * FROM steps WHERE run_id = ? ORDER BY started_at, rowid`);
  const attemptsOf = db.prepare(`SELECT * FROM attempts WHERE run_id = ? ORDER BY id`);
  const counts = db.prepare(`SELECT status, count(*) AS n FROM runs GROUP BY status`);
  // The first pending event in dispatch order that is not a replay (a replay keeps its old receivedAt).
  const oldestPending = db.prepare(`SELECT received_at FROM events WHERE status = 'received' AND generation = 0 ORDER BY seq LIMIT 1`).pluck();
  const setAsideCount = db.prepare(`SELECT count(*) FROM events WHERE status = 'failed'`).pluck();

  const detail = (row: RunRow): RunDetail => ({
    ...toRun(row),
    steps: (stepsOf.all(row.id) as StepRow[]).map(toStep),
    attempts: (attemptsOf.all(row.id) as AttemptRow[]).map(toAttempt),
  });

  return {
    events: async (f) =>
      (
        events.all({ source: f.source ?? null, type: f.type ?? null, before: f.before ?? null, search: f.search ?? null, limit: f.limit ?? 50 }) as EventRow[]
      ).map(toEventSummary),
    receipts: async (eventId, source) => (byId.all(eventId, source ?? null, source ?? null) as EventRow[]).map(toEvent),
    event: async (seq) => {
      const row = bySeq.get(seq) as EventRow | undefined;
      return row && toEvent(row);
    },
    eventCount: async () => count.get() as number,
    runs: async (f) => (runs.all({ status: f.status ?? null, recipe: f.recipe ?? null, before: f.before ?? null, limit: f.limit ?? 50 }) as RunRow[]).map(toRun),
    run: async (id) => {
      const row = getRun.get(id) as RunRow | undefined;
      return row && detail(row);
    },
    runsOfEvent: async (seq) => (byEvent.all(seq) as RunRow[]).map(detail),
    runsOfEvents: async (seqs) => (seqs.length === 0 ? [] : (byEvents.all(JSON.stringify(seqs)) as RunRow[]).map(toRun)),
    runCounts: async () => Object.fromEntries((counts.all() as Array<{ status: RunStatus; n: number }>).map((r) => [r.status, r.n])),
    backlog: async () => ({ oldestPending: (oldestPending.get() as number | undefined) ?? undefined, setAside: setAsideCount.get() as number }),
  };
}
